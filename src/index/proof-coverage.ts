/**
 * Which of the first `records` journal records are commitments, and which of those a proof covers,
 * as the journal says (bitsets, an eighth of a byte a record), and each proof's leaves (its ranges):
 * what the full check compares the index's pending set and proof references with. Records are taken
 * in any order, proofs past `records` included (a proof may cover commitments written long before it).
 * @module
 */
import type { StoredRecord } from '../journal/journal.js';
import { type RecordRange, readRangeList } from '../journal/ranges.js';
import { RecordKind } from '../journal/record.js';
import { Reader } from '../ots/index.js';

export class ProofCoverage {
  readonly records: number;
  private readonly commitments: Uint8Array;
  private readonly covered: Uint8Array;
  private readonly proofs = new Map<number, ProofLeaves>();

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
      const leaves = ProofLeaves.of(record);
      this.proofs.set(record.number, leaves);
      for (const { first, count } of leaves.ranges)
        for (let n = first; n < Math.min(first + count, this.records); n++) set(this.covered, n);
    }
  }

  /** The leaves of proof record `proof`, if one was taken. */
  leaves(proof: number): ProofLeaves | undefined {
    return this.proofs.get(proof);
  }

  /** Whether record `n` is a commitment no proof taken covers; undefined when it is no commitment. */
  pending(n: number): boolean | undefined {
    if (!has(this.commitments, n)) return undefined;
    return !has(this.covered, n);
  }
}

/** A proof record's leaves: the records its ranges name, numbered in their order. */
export class ProofLeaves {
  readonly ranges: readonly RecordRange[];
  /** The leaf of each range's first record. */
  private readonly starts: number[] = [];

  constructor(ranges: readonly RecordRange[]) {
    this.ranges = ranges;
    let leaf = 0;
    for (const { count } of ranges) {
      this.starts.push(leaf);
      leaf += count;
    }
  }

  /** The leaves of a proof record. */
  static of(record: { payload: Uint8Array }): ProofLeaves {
    return new ProofLeaves(readRangeList(new Reader(record.payload), 'proof record'));
  }

  /**
   * The record at leaf `leaf`, and how many leaves from it name consecutive records (the rest of its
   * range); undefined past the last leaf.
   */
  at(leaf: number): { record: number; left: number } | undefined {
    let low = 0;
    let high = this.ranges.length - 1;
    // the last range starting at or before the leaf
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if ((this.starts[middle] as number) <= leaf) low = middle;
      else high = middle - 1;
    }
    const range = this.ranges[low];
    const into = leaf - (this.starts[low] as number);
    if (!range || into < 0 || into >= range.count) return undefined;
    return { record: range.first + into, left: range.count - into };
  }
}

const set = (bits: Uint8Array, n: number) => {
  bits[n >> 3] = (bits[n >> 3] as number) | (1 << (n & 7));
};
const has = (bits: Uint8Array, n: number) => ((bits[n >> 3] as number) & (1 << (n & 7))) !== 0;
