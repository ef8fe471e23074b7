/**
 * Records that wait on commitments: delegations, offers and donations with a commitment no proof
 * covers yet, which a restarted calendar reads back (to go on asking a master, to offer a tip again, to
 * follow a donation). Each closes when every commitment it covers is proven, whatever the proof's
 * source. One view per kind, each in its own sub-database.
 * @module
 */
import { readRanges, writeRanges } from '../journal/ranges.js';
import { Reader, Writer } from '../ots/index.js';
import type { IndexDatabase, IndexedRecord, IndexView, OpenDatabase } from './index-view.js';
import { readU64, u64 } from './keys.js';

/** Where a record is in the journal. */
export interface RecordPlace {
  number: number;
  segment: number;
  offset: number;
}

export class OpenRecordsView implements IndexView {
  /** record number -> its segment, offset and the ranges of its commitments */
  private readonly open: IndexDatabase;
  private readonly covered: (entry: IndexedRecord) => readonly number[] | undefined;
  private readonly isPending: (record: number) => boolean;

  /**
   * `name`: the sub-database; `covered`: the commitments of a record of the kind followed, undefined
   * for other records; `isPending`: the commitments view's, which sees the proofs applied before in the
   * same batch.
   */
  constructor(
    open: OpenDatabase,
    name: string,
    covered: (entry: IndexedRecord) => readonly number[] | undefined,
    isPending: (record: number) => boolean,
  ) {
    this.open = open(name);
    this.covered = covered;
    this.isPending = isPending;
  }

  apply(entry: IndexedRecord): void {
    const commitments = this.covered(entry);
    if (commitments) {
      // proven meanwhile (a proof written between the decision and this record): nothing to wait for
      if (!commitments.some((n) => this.isPending(n))) return;
      const w = new Writer();
      writeRanges(w, commitments);
      this.open.put(
        u64(entry.record.number),
        Buffer.concat([u64(entry.record.segment), u64(entry.record.offset), w.toBytes()]),
      );
    } else if (entry.kind === 'proof') {
      for (const { key, value } of [...this.open.getRange()]) {
        const waiting = readRanges(new Reader(value.subarray(16)), 'open record');
        if (!waiting.some((n) => this.isPending(n))) this.open.remove(key);
      }
    }
  }

  /** The records with a commitment not proven yet, oldest first. */
  openRecords(): RecordPlace[] {
    return [...this.open.getRange()].map(({ key, value }) => ({
      number: readU64(key),
      segment: readU64(value, 0),
      offset: readU64(value, 8),
    }));
  }
}
