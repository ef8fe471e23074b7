/**
 * What one transaction (or one delegation) covers: the oldest pending commitments, at most as many as
 * one proof or stamp record may name (MAX_COVERED_RECORDS); the rest wait for the next one. Without
 * the bound, a calendar that had gone long without a confirmed transaction could never write its
 * stamp record again, and would stop anchoring for good.
 * @module
 */
import { MAX_COVERED_RECORDS } from '../journal/ranges.js';

export function oldestPending(
  index: { pendingRecords(): Iterable<number> },
  skip: (record: number) => boolean = () => false,
  most = MAX_COVERED_RECORDS,
): number[] {
  const taken: number[] = [];
  for (const record of index.pendingRecords()) {
    if (taken.length === most) break;
    if (!skip(record)) taken.push(record);
  }
  return taken;
}
