/**
 * Which of the first `records` journal records are commitments, and which of those a proof covers,
 * as the journal says (bitsets, an eighth of a byte a record): what the full check compares the
 * index's pending set with. Records are taken in any order, proofs past `records` included (a proof
 * may cover commitments written long before it).
 * @module
 */
import type { StoredRecord } from '../journal/journal.js';
import { readRangeList } from '../journal/ranges.js';
import { RecordKind } from '../journal/record.js';
import { Reader } from '../ots/index.js';

export class ProofCoverage {
  readonly records: number;
  private readonly commitments: Uint8Array;
  private readonly covered: Uint8Array;

  constructor(records: number) {
    this.records = records;
    this.commitments = new Uint8Array(Math.ceil(records / 8));
    this.covered = new Uint8Array(Math.ceil(records / 8));
  }

  /** Notes a commitment record, or the commitments a proof record covers; other records are no matter. */
  take(record: StoredRecord): void {
    if (record.kind === RecordKind.Commitment && record.number < this.records) {
      set(this.commitments, record.number);
    } else if (record.kind === RecordKind.Proof) {
      for (const { first, count } of readRangeList(new Reader(record.payload), 'proof record'))
        for (let n = first; n < Math.min(first + count, this.records); n++) set(this.covered, n);
    }
  }

  /** Whether record `n` is a commitment no proof taken covers; undefined when it is no commitment. */
  pending(n: number): boolean | undefined {
    if (!has(this.commitments, n)) return undefined;
    return !has(this.covered, n);
  }
}

const set = (bits: Uint8Array, n: number) => {
  bits[n >> 3] = (bits[n >> 3] as number) | (1 << (n & 7));
};
const has = (bits: Uint8Array, n: number) => ((bits[n >> 3] as number) & (1 << (n & 7))) !== 0;
