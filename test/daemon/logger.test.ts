import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readableLine } from '../../src/daemon/logger.js';

describe('readable log lines (stdout is a terminal)', () => {
  it('shows time, level, message and the fields', () => {
    const line = JSON.stringify({
      level: 40,
      time: Date.UTC(2026, 10, 24, 12, 34, 56),
      name: 'otsd',
      pid: 1,
      msg: 'stamper: fee cap',
      fee: 3060,
      txid: 'ab',
    });
    assert.equal(readableLine(line), '12:34:56 WARN  stamper: fee cap fee=3060 txid=ab');
    assert.equal(readableLine('not json'), 'not json');
  });
});
