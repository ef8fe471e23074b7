/** What one transaction or delegation covers: the oldest pending commitments, bounded. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { oldestPending } from '../../src/anchoring/oldest-pending.js';
import { MAX_COVERED_RECORDS } from '../../src/journal/ranges.js';

const index = (records: number[]) => ({ pendingRecords: () => records });

describe('oldestPending', () => {
  it('takes the oldest first, skips what is asked, and stops at the bound', () => {
    assert.deepEqual(oldestPending(index([3, 5, 8, 13])), [3, 5, 8, 13]);
    assert.deepEqual(
      oldestPending(index([3, 5, 8, 13]), (n) => n === 5),
      [3, 8, 13],
    );
    assert.deepEqual(
      oldestPending(index([3, 5, 8, 13]), (n) => n === 5, 2),
      [3, 8],
    );
    assert.deepEqual(oldestPending(index([])), []);
  });

  it('never returns more than one record may cover', () => {
    const many = Array.from({ length: MAX_COVERED_RECORDS + 10 }, (_, i) => i);
    const taken = oldestPending(index(many));
    assert.equal(taken.length, MAX_COVERED_RECORDS);
    assert.equal(taken.at(-1), MAX_COVERED_RECORDS - 1);
  });
});
