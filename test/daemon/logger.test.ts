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

describe('mirror progress bar (stderr is a terminal)', () => {
  it('shows the share, counts, rate and time left', async () => {
    const { progressBar } = await import('../../src/cli/node-options.js');
    assert.equal(
      progressBar({ local: 50, upstream: 200, recordsPerSecond: 25, etaSeconds: 6 }),
      `[${'#'.repeat(8)}${' '.repeat(22)}] 25% 50/200 records, 25/s, ETA 6 s`,
    );
    assert.match(
      progressBar({ local: 200, upstream: 200, recordsPerSecond: 9, etaSeconds: undefined }),
      /^\[#{30}\] 100% 200\/200/,
    );
  });
});
