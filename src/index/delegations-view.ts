/**
 * Delegations still open: delegation records with a commitment no proof covers yet, which a restarted
 * calendar reads back to go on asking the master. A delegation closes when every commitment it covers
 * is proven, whatever the proof's source.
 * @module
 */
import { readRanges, writeRanges } from '../journal/ranges.js';
import { Reader, Writer } from '../ots/index.js';
import type { IndexDatabase, IndexedRecord, IndexView, OpenDatabase } from './index-view.js';
import { readU64, u64 } from './keys.js';

export class DelegationsView implements IndexView {
  /** delegation record number -> its segment, offset and the ranges of its commitments */
  private readonly open: IndexDatabase;
  private readonly isPending: (record: number) => boolean;

  /** `isPending`: the commitments view's, which sees the proofs applied before in the same batch. */
  constructor(open: OpenDatabase, isPending: (record: number) => boolean) {
    this.open = open('delegations');
    this.isPending = isPending;
  }

  apply(entry: IndexedRecord): void {
    if (entry.kind === 'delegation') {
      // proven meanwhile (a proof written between the tip's submission and this record): nothing to wait for
      if (!entry.delegation.commitments.some((n) => this.isPending(n))) return;
      const w = new Writer();
      writeRanges(w, entry.delegation.commitments);
      this.open.put(
        u64(entry.record.number),
        Buffer.concat([u64(entry.record.segment), u64(entry.record.offset), w.toBytes()]),
      );
    } else if (entry.kind === 'proof') {
      for (const { key, value } of [...this.open.getRange()]) {
        const commitments = readRanges(new Reader(value.subarray(16)), 'open delegation');
        if (!commitments.some((n) => this.isPending(n))) this.open.remove(key);
      }
    }
  }

  /** Delegation records with a commitment not proven yet, oldest first. */
  openDelegations(): { number: number; segment: number; offset: number }[] {
    return [...this.open.getRange()].map(({ key, value }) => ({
      number: readU64(key),
      segment: readU64(value, 0),
      offset: readU64(value, 8),
    }));
  }
}
