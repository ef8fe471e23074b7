/**
 * Commitments: the record that first holds each one and the proofs that cover it, and the pending
 * set. The index keeps only a 6-byte prefix of each commitment: the journal holds the rest, read back
 * to confirm a match (and, for a prefix query, to answer it). Per commitment that is one 9-byte value
 * packed among its 2-byte key's values (LMDB's DUPFIXED), where a copy of the commitment as a key, and
 * a record -> commitment map, took some 180 bytes. A commitment seen again is not indexed again: its
 * record is kept in `duplicates`, with the first record, which its proofs are listed under.
 * @module
 */
import { compareBytes, toHex } from '../ots/index.js';
import { AbsentPrefixes } from './absent-prefixes.js';
import type { IndexDatabase, IndexedRecord, IndexView, OpenDatabase } from './index-view.js';
import { readU64, u64 } from './keys.js';
import { PendingRuns } from './pending-runs.js';
import { KEY_BYTES, PREFIX_BYTES, PREFIX_REST_BYTES, prefixEntry, valueRecord } from './prefix-entry.js';
import { PrefixEntryBatch } from './prefix-entry-batch.js';
import { type ProofRun, ProofRuns } from './proof-runs.js';

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

/** The commitment a commitment record holds, read back from the journal (undefined for another kind). */
export type CommitmentAt = (record: number) => Uint8Array | undefined;

/** A proof covering a commitment, in `proofsOf`: its record number (8 bytes), the leaf (4). */
const REFERENCE_BYTES = 12;
const DISTINCT_KEY = Buffer.from('distinct');

export class CommitmentsView implements IndexView {
  /** first 2 bytes of a commitment -> (its next 4 bytes, its first record number), one per commitment */
  private readonly prefixes: IndexDatabase;
  /** This transaction's new entries of `prefixes`, put at its end (empty outside a transaction). */
  private readonly batch = new PrefixEntryBatch();
  /** the first proof of most commitments, as runs of consecutive records (see ProofRuns) */
  private readonly runs: ProofRuns;
  /**
   * first record number of a commitment -> (proof record, leaf) for each proof that covers it and no
   * run holds: a proof of a duplicate, a second proof, a proof of records out of order
   */
  private readonly proofsOf: IndexDatabase;
  /** record number of a commitment seen before -> the first record holding it */
  private readonly duplicates: IndexDatabase;
  /** `distinct`: the number of distinct commitments */
  private readonly counts: IndexDatabase;
  private readonly pending: PendingRuns;
  private readonly commitmentAt: CommitmentAt;
  /** The distinct count as this transaction leaves it; undefined when not read yet. */
  private distinct: number | undefined;
  private distinctChanged = false;
  /**
   * From an empty index on (a new calendar or mirror, a rebuild) until it proves too little: the
   * prefixes it certainly does not hold. Not made again after a restart.
   */
  private absentPrefixes: AbsentPrefixes | undefined;
  /** See lastDuplicateRecord and lastCoveredRecord; undefined when not read yet. */
  private lastDuplicate: number | undefined;
  private lastCovered: number | undefined;
  /** Written into for each put, which copies it: no allocation per proof reference. */
  private readonly scratchReference = Buffer.allocUnsafe(REFERENCE_BYTES);

  constructor(open: OpenDatabase, commitmentAt: CommitmentAt) {
    this.prefixes = open('commitment-prefixes', { dupFixed: true });
    this.runs = new ProofRuns(open('proof-runs'));
    this.proofsOf = open('proofs-of');
    this.duplicates = open('duplicates');
    this.counts = open('counts');
    this.pending = new PendingRuns(open('pending-runs'));
    this.commitmentAt = commitmentAt;
    // an index that holds no commitment yet (a calendar just made by `otsd init`, a mirror's first
    // start) keeps the bitmap from its first one, as one emptied in this process does
    if (isEmpty(this.prefixes)) this.absentPrefixes = new AbsentPrefixes();
  }

  apply(entry: IndexedRecord): void {
    if (entry.kind === 'commitment') {
      const n = entry.record.number;
      const { commitment } = entry;
      // A commitment seen twice keeps its first record; the second is pending all the same.
      const first = this.absentPrefixes?.absent(commitment) ? undefined : this.firstRecord(commitment);
      if (first === undefined) {
        this.batch.add(commitment, n);
        this.absentPrefixes?.add(commitment);
        if (this.absentPrefixes?.full) this.absentPrefixes = undefined;
        this.distinct = this.distinctCount + 1;
        this.distinctChanged = true;
      } else {
        this.duplicates.put(u64(n), u64(first));
        this.lastDuplicate = Math.max(this.lastDuplicateRecord, n);
      }
      this.pending.add(n);
    } else if (entry.kind === 'proof') {
      const proof = entry.record.number;
      entry.proof.commitments.forEach((n, leaf) => {
        // most records are no duplicate and proven once: no read where none can be held
        const duplicate = n > this.lastDuplicateRecord ? undefined : this.duplicates.get(u64(n));
        const first = duplicate === undefined ? n : readU64(duplicate);
        if (first === n && n > this.lastCoveredRecord) {
          this.runs.add(n, proof, leaf);
          this.lastCovered = n;
          return;
        }
        const reference = this.scratchReference;
        u64(proof).copy(reference, 0);
        reference.writeUInt32BE(leaf, 8);
        const key = u64(first);
        const held = this.proofsOf.get(key);
        this.proofsOf.put(key, held ? Buffer.concat([held, reference]) : reference);
        this.lastCovered = Math.max(this.lastCoveredRecord, first);
      });
      this.runs.flush();
      for (const { first, count } of runsOf(entry.proof.commitments)) this.pending.remove(first, count);
    }
  }

  /**
   * The last key of `duplicates` (a record number, -1 for none) as this transaction leaves it: a
   * record after it is no duplicate. Read once, then kept (forgotten with the rest).
   */
  private get lastDuplicateRecord(): number {
    this.lastDuplicate ??= lastKey(this.duplicates);
    return this.lastDuplicate;
  }

  /**
   * The last record any proof covers as this transaction leaves it (-1 for none), a run's or one kept
   * apart (under a duplicate's first record): a record after it is pending, and a first proof of it
   * starts or extends a run. Read once, then kept the same way.
   */
  private get lastCoveredRecord(): number {
    this.lastCovered ??= Math.max(lastKey(this.proofsOf), this.runs.lastRecord());
    return this.lastCovered;
  }

  /** Writes what is kept in memory until the end of a transaction. */
  finish(): void {
    this.batch.putInto(this.prefixes);
    this.pending.flush();
    if (this.distinctChanged) this.counts.put(DISTINCT_KEY, u64(this.distinct as number));
    this.distinctChanged = false;
  }

  /**
   * Forgets what is kept in memory, to be read again when next asked: after a transaction that did
   * not commit (its records changed it) or after the databases were emptied.
   */
  forget(): void {
    this.batch.clear();
    this.pending.forget();
    this.distinct = undefined;
    this.distinctChanged = false;
    this.lastDuplicate = undefined;
    this.lastCovered = undefined;
    this.runs.forget();
  }

  /** The databases are empty: a rebuild begins. */
  emptied(): void {
    this.forget();
    this.absentPrefixes = new AbsentPrefixes();
  }

  private get distinctCount(): number {
    if (this.distinct === undefined) {
      const stored = this.counts.get(DISTINCT_KEY);
      this.distinct = stored ? readU64(stored) : 0;
    }
    return this.distinct;
  }

  /**
   * The first record holding `commitment`: the entries with its prefix, each confirmed against the
   * journal (those put first: the batch's are of later records).
   */
  private firstRecord(commitment: Uint8Array): number | undefined {
    const { key, value: start } = prefixEntry(commitment, 0);
    for (const value of this.prefixes.getValues(key, { start })) {
      if (value.compare(start, 0, PREFIX_REST_BYTES, 0, PREFIX_REST_BYTES) !== 0) break;
      const n = valueRecord(value);
      if (this.holds(n, commitment)) return n;
    }
    let first: number | undefined;
    for (const n of this.batch.recordsSharing(commitment)) if (this.holds(n, commitment)) first = n;
    return first;
  }

  /** Whether record `n` holds `commitment`, read back from the journal. */
  private holds(n: number, commitment: Uint8Array): boolean {
    const held = this.commitmentAt(n);
    return (
      held !== undefined && Buffer.from(held.buffer, held.byteOffset, held.byteLength).equals(commitment)
    );
  }

  /**
   * How many distinct commitments held share the first 6 bytes of `commitment` (its padded prefix),
   * counted up to `atMost`: their entries alone, no journal read.
   */
  sharingPrefix(commitment: Uint8Array, atMost: number): number {
    if (this.absentPrefixes?.absent(commitment)) return 0;
    const { key, value: start } = prefixEntry(commitment, 0);
    let count = 0;
    for (const value of this.prefixes.getValues(key, { start })) {
      if (count >= atMost || value.compare(start, 0, PREFIX_REST_BYTES, 0, PREFIX_REST_BYTES) !== 0) break;
      count++;
    }
    for (const _ of this.batch.recordsSharing(commitment)) {
      if (count >= atMost) break;
      count++;
    }
    return count;
  }

  lookup(commitment: Uint8Array): CommitmentState {
    const record = this.firstRecord(commitment);
    if (record === undefined) return { state: 'unknown' };
    if (record > this.lastCoveredRecord) return { state: 'pending', record };
    const proofs = this.proofsHeld(record);
    return proofs.length === 0 ? { state: 'pending', record } : { state: 'proved', record, proofs };
  }

  /** The proofs the index holds for the commitment first held by record `first`, in record order. */
  proofsHeld(first: number): ProofReference[] {
    const proofs: ProofReference[] = [];
    // a run holds a record's first proof, if one does: those kept apart came later
    const run = this.runs.find(first);
    if (run) proofs.push(run);
    proofs.push(...readReferences(this.proofsOf.get(u64(first))));
    return proofs;
  }

  /** The first record holding the commitment of commitment record `n`: `n`, or the one it duplicates. */
  firstRecordOf(n: number): number {
    if (n > this.lastDuplicateRecord) return n;
    const duplicate = this.duplicates.get(u64(n));
    return duplicate === undefined ? n : readU64(duplicate);
  }

  /** The first duplicate record from `first` on, or undefined. */
  duplicateFrom(first: number): number | undefined {
    for (const key of this.duplicates.getKeys({ start: u64(first), limit: 1 })) return readU64(key);
    return undefined;
  }

  /** The run of first proofs that holds record `n`. */
  proofRunHolding(n: number): ProofRun | undefined {
    return this.runs.holding(n);
  }

  /** The runs of first proofs from the one starting at record `start` on, at most `limit`. */
  proofRunsFrom(start: number, limit: number): ProofRun[] {
    return this.runs.from(start, limit);
  }

  /** The proofs kept apart from the runs, by first record, from record `start` on, at most `limit` records. */
  proofsKeptApartFrom(start: number, limit: number): { first: number; proofs: ProofReference[] }[] {
    return [...this.proofsOf.getRange({ start: u64(start), limit })].map(({ key, value }) => ({
      first: readU64(key),
      proofs: readReferences(value),
    }));
  }

  /** Number of commitments not yet covered by a proof. */
  get pendingCount(): number {
    return this.pending.count;
  }

  /** Whether commitment record `record` is pending (no proof covers it yet). */
  isPending(record: number): boolean {
    return this.pending.has(record);
  }

  /** Record numbers of pending commitments, oldest first. */
  pendingRecords(): Generator<number> {
    return this.pending.records();
  }

  /** Number of distinct commitments (what a client divides by 16^nibbles to size an anonymity set). */
  get commitmentCount(): number {
    return this.distinctCount;
  }

  /**
   * The commitments whose hex starts with `prefix` (any number of nibbles), in byte order, at most
   * `limit` of them: a range scan of the prefixes, each candidate read back from the journal, so the
   * cost follows the answer (and the rare commitments sharing its 6-byte prefix), not the calendar.
   */
  commitmentsWithPrefix(prefix: string, limit: number): Uint8Array[] {
    const { start, end } = prefixRange(prefix.slice(0, 2 * PREFIX_BYTES));
    const keyStart = start.subarray(0, KEY_BYTES);
    const keyEnd = end?.subarray(0, KEY_BYTES);
    const out: Uint8Array[] = [];
    // entries in prefix order; commitments sharing a 6-byte prefix are sorted among themselves
    let group: Uint8Array[] = [];
    let groupPrefix: Buffer | undefined;
    const flush = () => {
      group.sort(compareBytes);
      out.push(...group);
      group = [];
    };
    for (const { key, value } of this.prefixes.getRange({
      start: keyStart,
      ...(keyEnd && { end: inclusiveKeyEnd(keyEnd) }),
    })) {
      const entryPrefix = Buffer.concat([key, value.subarray(0, PREFIX_REST_BYTES)]);
      if (entryPrefix.compare(start) < 0) continue;
      if (end && entryPrefix.compare(end) >= 0) break;
      if (!groupPrefix || !entryPrefix.equals(groupPrefix)) {
        flush();
        if (out.length >= limit) break;
        groupPrefix = entryPrefix;
      }
      const commitment = this.commitmentAt(valueRecord(value));
      if (commitment && toHex(commitment).startsWith(prefix)) group.push(new Uint8Array(commitment));
    }
    flush();
    return out.slice(0, limit);
  }
}

/** The (proof record, leaf) references of a `proofsOf` value (none for undefined). */
function readReferences(value: Buffer | undefined): ProofReference[] {
  const references: ProofReference[] = [];
  for (let at = 0; value && at < value.byteLength; at += REFERENCE_BYTES) {
    references.push({ proof: readU64(value, at), leaf: value.readUInt32BE(at + 8) });
  }
  return references;
}

/** The last key of `db`, a record number (u64), or -1 for an empty one. */
function lastKey(db: IndexDatabase): number {
  for (const key of db.getKeys({ reverse: true, limit: 1 })) return readU64(key);
  return -1;
}

function isEmpty(db: IndexDatabase): boolean {
  for (const _ of db.getKeys({ limit: 1 })) return false;
  return true;
}

/** The ascending record numbers as runs of consecutive ones. */
function runsOf(numbers: readonly number[]): { first: number; count: number }[] {
  const runs: { first: number; count: number }[] = [];
  for (const n of numbers) {
    const last = runs[runs.length - 1];
    if (last && last.first + last.count === n) last.count++;
    else runs.push({ first: n, count: 1 });
  }
  return runs;
}

/** A range end past every key up to `key` included (keys are KEY_BYTES long). */
function inclusiveKeyEnd(key: Buffer): Buffer {
  return Buffer.concat([key, Buffer.from([0])]);
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
