/**
 * Commitments: which record holds each one and which proofs cover it, the commitment of each record,
 * and the pending set (commitments no proof covers yet).
 * @module
 */
import type { IndexDatabase, IndexedRecord, IndexView, OpenDatabase } from './index-view.js';
import { readU64, u32, u64 } from './keys.js';

export interface ProofReference {
  /** Number of the proof record. */
  proof: number;
  /** Position of the commitment among the proof's leaves. */
  leaf: number;
}

export type CommitmentState =
  | { state: 'unknown' }
  | { state: 'pending'; record: number }
  /** `proofs`: every proof record covering it, in record order (the first is the one served). */
  | { state: 'proved'; record: number; proofs: ProofReference[] };

const EMPTY = Buffer.alloc(0);

export class CommitmentsView implements IndexView {
  /** commitment -> its first record number, then (proof record, leaf) for each proof that covers it */
  private readonly byCommitment: IndexDatabase;
  /** record number -> the commitment it holds */
  private readonly byRecord: IndexDatabase;
  /** record numbers of commitments no proof covers yet */
  private readonly pending: IndexDatabase;
  /**
   * The sizes of `byCommitment` and `pending`, kept as records are applied: counting them is a scan of
   * the whole database (64 ms at a million commitments), and the status page asks on every request.
   * Counted once when first asked, and again after `forgetCounts`.
   */
  private counts: { commitments: number; pending: number } | undefined;

  constructor(open: OpenDatabase) {
    this.byCommitment = open('commitments');
    this.byRecord = open('records');
    this.pending = open('pending');
  }

  apply(entry: IndexedRecord): void {
    if (entry.kind === 'commitment') {
      const key = u64(entry.record.number);
      this.byRecord.put(key, entry.commitment);
      // A commitment seen twice keeps its first record; the second is still indexed by number.
      if (this.byCommitment.get(entry.commitment) === undefined) {
        this.byCommitment.put(entry.commitment, key);
        if (this.counts) this.counts.commitments++;
      }
      this.pending.put(key, EMPTY);
      if (this.counts) this.counts.pending++;
    } else if (entry.kind === 'proof') {
      const proofKey = u64(entry.record.number);
      entry.commitments.forEach((commitment, leaf) => {
        const value = this.byCommitment.get(commitment) as Buffer;
        this.byCommitment.put(commitment, Buffer.concat([value, proofKey, u32(leaf)]));
        const record = u64(entry.proof.commitments[leaf] as number);
        // a commitment a second proof covers is no longer pending
        if (this.pending.get(record) === undefined) return;
        this.pending.remove(record);
        if (this.counts) this.counts.pending--;
      });
    }
  }

  /**
   * Drops the kept counts, to be counted again when next asked: after a transaction that did not
   * commit (its records changed them) or after the databases were emptied.
   */
  forgetCounts(): void {
    this.counts = undefined;
  }

  private get kept(): { commitments: number; pending: number } {
    this.counts ??= { commitments: this.byCommitment.getCount(), pending: this.pending.getCount() };
    return this.counts;
  }

  lookup(commitment: Uint8Array): CommitmentState {
    const value = this.byCommitment.get(
      Buffer.from(commitment.buffer, commitment.byteOffset, commitment.byteLength),
    );
    if (value === undefined) return { state: 'unknown' };
    const record = readU64(value, 0);
    if (value.byteLength === 8) return { state: 'pending', record };
    const proofs: ProofReference[] = [];
    for (let at = 8; at < value.byteLength; at += 12) {
      proofs.push({ proof: readU64(value, at), leaf: value.readUInt32BE(at + 8) });
    }
    return { state: 'proved', record, proofs };
  }

  /** The commitment record `record` holds, as the Buffer the index keys and hashes. */
  storedCommitmentAt(record: number): Buffer | undefined {
    return this.byRecord.get(u64(record));
  }

  /** The commitment a commitment record holds. */
  commitmentAt(record: number): Uint8Array | undefined {
    const value = this.storedCommitmentAt(record);
    return value && new Uint8Array(value);
  }

  /** Number of commitments not yet covered by a proof. */
  get pendingCount(): number {
    return this.kept.pending;
  }

  /** Whether commitment record `record` is pending (no proof covers it yet). */
  isPending(record: number): boolean {
    return this.pending.get(u64(record)) !== undefined;
  }

  /** Record numbers of pending commitments, oldest first. */
  *pendingRecords(): Generator<number> {
    for (const key of this.pending.getKeys()) yield readU64(key);
  }

  /** Number of distinct commitments (what a client divides by 16^nibbles to size an anonymity set). */
  get commitmentCount(): number {
    return this.kept.commitments;
  }

  /**
   * The commitments whose hex starts with `prefix` (any number of nibbles), in byte order, at most
   * `limit` of them: a range scan, so the cost follows the answer, not the calendar.
   */
  commitmentsWithPrefix(prefix: string, limit: number): Uint8Array[] {
    const { start, end } = prefixRange(prefix);
    const out: Uint8Array[] = [];
    for (const key of this.byCommitment.getKeys({ start, ...(end && { end }), limit }))
      out.push(new Uint8Array(key));
    return out;
  }
}

/** The byte range [start, end) of keys whose hex starts with `prefix`; no end when it runs to the last key. */
export function prefixRange(prefix: string): { start: Buffer; end: Buffer | undefined } {
  const bytes = (hex: string) => Buffer.from(hex.length % 2 === 1 ? `${hex}0` : hex, 'hex');
  if (prefix.length === 0) return { start: Buffer.alloc(0), end: undefined };
  // the first key past the prefix is the prefix plus one, as a number of prefix.length nibbles
  const next = BigInt(`0x${prefix}`) + 1n;
  if (next >= 16n ** BigInt(prefix.length)) return { start: bytes(prefix), end: undefined };
  return { start: bytes(prefix), end: bytes(next.toString(16).padStart(prefix.length, '0')) };
}
