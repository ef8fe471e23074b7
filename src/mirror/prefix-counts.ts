/**
 * How many of a group's commitments (verified, not yet indexed) have each 6-byte prefix (the index's
 * PREFIX_BYTES), for the count MAX_SHARED_PREFIX bounds.
 * @module
 */
import { PrefixTable } from '../index/prefix-table.js';

export class PrefixCounts {
  private readonly table = new PrefixTable();

  /** How many commitments added have the prefix of `commitment` (zero-padded as the index pads a shorter one). */
  count(commitment: Uint8Array): number {
    return this.table.get(commitment);
  }

  /** One more commitment. */
  add(commitment: Uint8Array): void {
    this.table.set(commitment, this.table.get(commitment) + 1);
  }

  /** Slots looked at so far (see PrefixTable.probes). */
  get probes(): number {
    return this.table.probes;
  }
}
