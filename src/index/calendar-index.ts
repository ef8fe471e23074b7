/**
 * The LMDB index of a calendar journal: derived from the journal alone, disposable, fast. It maps
 * commitments to the proof records that cover them, keeps the pending set and the nodes of every
 * proof's merkle tree, and remembers the journal position it has applied, all updated in one
 * transaction per batch of records, so it always matches a prefix of the journal.
 * @module
 */
import { type Database, open, type RootDatabase } from 'lmdb';
import { CHUNK_RECORDS } from '../journal/chunk.js';
import type { ReadCursor, StoredRecord } from '../journal/journal.js';
import { decodeProofPayload } from '../journal/proof-payload.js';
import { writeRanges } from '../journal/ranges.js';
import { GENESIS_CHAIN_HASH, RecordKind } from '../journal/record.js';
import { decodeStampPayload } from '../journal/stamp-payload.js';
import {
  equalBytes,
  MerkleTree,
  type Op,
  OpAppend,
  OpPrepend,
  OpSHA256,
  parseTransaction,
  sha256,
  toHex,
  Writer,
} from '../ots/index.js';
import { ChainScanStore } from './chain-scan-store.js';
import { readU64, u64 } from './keys.js';

/** The index format; an index of another version is rebuilt. */
export const INDEX_VERSION = 2;

/** The journal and the index disagree in a way catch-up cannot mend: reindex, or the journal is bad. */
export class IndexConsistencyError extends Error {
  override name = 'IndexConsistencyError';
}

export interface ProofReference {
  /** Number of the proof record. */
  proof: number;
  /** Position of the commitment among the proof's leaves. */
  leaf: number;
}

export type CommitmentState =
  | { state: 'unknown' }
  | { state: 'pending'; record: number }
  | { state: 'proved'; record: number; proofs: ProofReference[] };

export interface ProofLocation {
  segment: number;
  offset: number;
  leaves: number;
}

const SHA256 = new OpSHA256();
const EMPTY = Buffer.alloc(0);
const APPLIED_KEY = Buffer.from('applied');
const VERSION_KEY = Buffer.from('version');

export class CalendarIndex {
  private readonly root: RootDatabase<Buffer, Buffer>;
  private readonly meta: Database<Buffer, Buffer>;
  private readonly commitments: Database<Buffer, Buffer>;
  private readonly records: Database<Buffer, Buffer>;
  private readonly pendingSet: Database<Buffer, Buffer>;
  private readonly proofs: Database<Buffer, Buffer>;
  private readonly tree: Database<Buffer, Buffer>;
  private readonly stamps: Database<Buffer, Buffer>;
  private readonly stampFees: Database<Buffer, Buffer>;
  private readonly chunks: Database<Buffer, Buffer>;
  private readonly chainScanDb: Database<Buffer, Buffer>;
  /** The chain follower's saved scan (not derived from the journal; cleared with the rest). */
  readonly chainScan: ChainScanStore;
  private cursor: ReadCursor;

  private constructor(path: string) {
    this.root = open<Buffer, Buffer>({ path, keyEncoding: 'binary', encoding: 'binary', maxDbs: 16 });
    const sub = (name: string) =>
      this.root.openDB<Buffer, Buffer>({ name, keyEncoding: 'binary', encoding: 'binary' });
    this.meta = sub('meta');
    this.commitments = sub('commitments');
    this.records = sub('records');
    this.pendingSet = sub('pending');
    this.proofs = sub('proofs');
    this.tree = sub('tree');
    this.stamps = sub('stamps');
    this.stampFees = sub('stamp-fees');
    this.chunks = sub('chunks');
    this.chainScanDb = sub('chain-scan');
    this.chainScan = new ChainScanStore(this.chainScanDb);
    this.cursor = this.readCursor();
  }

  /** Opens (creating if needed) the index at `path`. An index of another format version is emptied. */
  static open(path: string): CalendarIndex {
    const index = new CalendarIndex(path);
    const version = index.meta.get(VERSION_KEY);
    if (version === undefined || readU64(version) !== INDEX_VERSION) index.clear();
    return index;
  }

  private readCursor(): ReadCursor {
    const value = this.meta.get(APPLIED_KEY);
    if (!value) return { number: 0, segment: 0, offset: 0, previousChainHash: GENESIS_CHAIN_HASH };
    return {
      number: readU64(value, 0),
      segment: readU64(value, 8),
      offset: readU64(value, 16),
      previousChainHash: new Uint8Array(value.subarray(24, 56)),
    };
  }

  /** Removes everything: the next catch-up rebuilds from record 0. */
  clear(): void {
    this.root.transactionSync(() => {
      for (const db of [
        this.meta,
        this.commitments,
        this.records,
        this.pendingSet,
        this.proofs,
        this.tree,
        this.chainScanDb,
      ])
        db.clearSync();
      this.meta.put(VERSION_KEY, u64(INDEX_VERSION));
    });
    this.cursor = this.readCursor();
  }

  /** Where to resume reading the journal: the next record to apply. */
  get applied(): ReadCursor {
    return this.cursor;
  }

  /**
   * Applies journal records in order, in one transaction. Records already applied are skipped, so
   * applying the same batch twice is harmless; a gap is an error.
   */
  apply(batch: readonly StoredRecord[]): void {
    const fresh = batch.filter((r) => r.number >= this.cursor.number);
    if (fresh.length === 0) return;
    let cursor = this.cursor;
    this.root.transactionSync(() => {
      for (const record of fresh) {
        if (record.number !== cursor.number) {
          throw new IndexConsistencyError(
            `index: expected journal record ${cursor.number}, got ${record.number}`,
          );
        }
        if (record.number % CHUNK_RECORDS === 0) {
          this.chunks.put(
            u64(record.number / CHUNK_RECORDS),
            Buffer.concat([u64(record.segment), u64(record.offset)]),
          );
        }
        if (record.kind === RecordKind.Commitment) this.applyCommitment(record);
        else if (record.kind === RecordKind.Proof) this.applyProof(record);
        else if (record.kind === RecordKind.Stamp) this.applyStamp(record);
        cursor = {
          number: record.number + 1,
          segment: record.segment,
          offset: record.offset + record.size,
          previousChainHash: record.chainHash,
        };
      }
      const applied = Buffer.concat([
        u64(cursor.number),
        u64(cursor.segment),
        u64(cursor.offset),
        cursor.previousChainHash,
      ]);
      this.meta.put(APPLIED_KEY, applied);
    });
    this.cursor = cursor;
  }

  private applyCommitment(record: StoredRecord): void {
    const commitment = Buffer.from(record.payload);
    const key = u64(record.number);
    this.records.put(key, commitment);
    // A commitment seen twice keeps its first record; the second is still indexed by number.
    if (this.commitments.get(commitment) === undefined) this.commitments.put(commitment, key);
    this.pendingSet.put(key, EMPTY);
  }

  private applyProof(record: StoredRecord): void {
    const proof = decodeProofPayload(record.payload);
    const commitments = proof.commitments.map((n) => {
      const commitment = this.records.get(u64(n));
      if (!commitment) {
        throw new IndexConsistencyError(
          `journal record ${record.number}: proof covers record ${n}, which is not a commitment`,
        );
      }
      return commitment;
    });
    const tree = new MerkleTree(commitments.map((c) => sha256(c)));
    if (!equalBytes(tree.root, proof.tip.msg)) {
      throw new IndexConsistencyError(
        `journal record ${record.number}: proof tip ${toHex(proof.tip.msg)} is not the merkle root of its commitments`,
      );
    }
    const proofKey = u64(record.number);
    tree.levels.forEach((level, depth) => {
      level.forEach((node, i) => {
        this.tree.put(treeKey(record.number, depth, i), Buffer.from(node));
      });
    });
    commitments.forEach((commitment, leaf) => {
      const value = this.commitments.get(commitment) as Buffer;
      this.commitments.put(commitment, Buffer.concat([value, proofKey, u32(leaf)]));
      this.pendingSet.remove(u64(proof.commitments[leaf] as number));
    });
    this.proofs.put(
      proofKey,
      Buffer.concat([u64(record.segment), u64(record.offset), u32(commitments.length)]),
    );
    // the proof of a stamping transaction's commitments closes every version of that transaction
    const covered = rangesDigest(proof.commitments);
    const open = [...this.stamps.getRange()];
    if (open.some(({ value }) => equalBytes(value.subarray(16, 48), covered))) {
      for (const { key } of open) this.stamps.remove(key);
    }
  }

  private applyStamp(record: StoredRecord): void {
    const stamp = decodeStampPayload(record.payload);
    this.stamps.put(
      u64(record.number),
      Buffer.concat([u64(record.segment), u64(record.offset), rangesDigest(stamp.commitments)]),
    );
    // by the height the transaction was built at (its nLockTime), for fees spent per window of blocks
    const tx = parseTransaction(stamp.rawTx);
    const input = tx.inputs[0];
    if (input) {
      this.stampFees.put(
        Buffer.concat([u32(tx.lockTime), u64(record.number)]),
        Buffer.concat([u64(stamp.fee), Buffer.from(input.prevTxid), u32(input.prevIndex)]),
      );
    }
  }

  /**
   * Fees committed to by stamping transactions built at `fromHeight` or later: for each spent input
   * (one transaction and its replacements), the largest fee among its versions.
   */
  stampFeesSince(fromHeight: number): number {
    const byInput = new Map<string, number>();
    for (const { value } of this.stampFees.getRange({ start: u32(Math.max(0, fromHeight)) })) {
      const input = value.subarray(8).toString('hex');
      byInput.set(input, Math.max(byInput.get(input) ?? 0, readU64(value, 0)));
    }
    return [...byInput.values()].reduce((sum, fee) => sum + fee, 0);
  }

  /** The height the newest stamping transaction was built at (its nLockTime), if there is one. */
  lastStampHeight(): number | undefined {
    for (const { key } of this.stampFees.getRange({ reverse: true, limit: 1 })) return key.readUInt32BE(0);
    return undefined;
  }

  /** Stamp records written since the last proof of a stamping transaction: the versions in flight. */
  openStamps(): { number: number; segment: number; offset: number }[] {
    return [...this.stamps.getRange()].map(({ key, value }) => ({
      number: readU64(key),
      segment: readU64(value, 0),
      offset: readU64(value, 8),
    }));
  }

  lookup(commitment: Uint8Array): CommitmentState {
    const value = this.commitments.get(
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

  proofLocation(proof: number): ProofLocation | undefined {
    const value = this.proofs.get(u64(proof));
    if (!value) return undefined;
    return { segment: readU64(value, 0), offset: readU64(value, 8), leaves: value.readUInt32BE(16) };
  }

  /** The ops from sha256(commitment) (the leaf) to the proof's tip. */
  merklePath(proof: number, leaf: number): Op[] {
    const location = this.proofLocation(proof);
    if (!location) throw new IndexConsistencyError(`index: no proof record ${proof}`);
    const ops: Op[] = [];
    let size = location.leaves;
    let i = leaf;
    for (let depth = 0; size > 1; depth++) {
      const sibling = i ^ 1;
      if (sibling < size) {
        const node = this.tree.get(treeKey(proof, depth, sibling));
        if (!node)
          throw new IndexConsistencyError(`index: proof ${proof} lacks merkle node ${depth}/${sibling}`);
        ops.push(
          i % 2 === 0 ? new OpAppend(new Uint8Array(node)) : new OpPrepend(new Uint8Array(node)),
          SHA256,
        );
      }
      i >>= 1;
      size = Math.ceil(size / 2);
    }
    return ops;
  }

  /** Number of commitments not yet covered by a proof. */
  get pendingCount(): number {
    return this.pendingSet.getCount();
  }

  /** Where chunk `chunk` (records chunk*CHUNK_RECORDS onward) starts in the journal, once it has begun. */
  chunkStart(chunk: number): { segment: number; offset: number } | undefined {
    const value = this.chunks.get(u64(chunk));
    return value && { segment: readU64(value, 0), offset: readU64(value, 8) };
  }

  /** Number of distinct commitments (what a client divides by 16^nibbles to size an anonymity set). */
  get commitmentCount(): number {
    return this.commitments.getCount();
  }

  /**
   * The commitments whose hex starts with `prefix` (any number of nibbles), in byte order, at most
   * `limit` of them: a range scan, so the cost follows the answer, not the calendar.
   */
  commitmentsWithPrefix(prefix: string, limit: number): Uint8Array[] {
    const { start, end } = prefixRange(prefix);
    const out: Uint8Array[] = [];
    for (const key of this.commitments.getKeys({ start, ...(end && { end }), limit }))
      out.push(new Uint8Array(key));
    return out;
  }

  /** Record numbers of pending commitments, oldest first. */
  *pendingRecords(): Generator<number> {
    for (const key of this.pendingSet.getKeys()) yield readU64(key);
  }

  /** The commitment a commitment record holds. */
  commitmentAt(record: number): Uint8Array | undefined {
    const value = this.records.get(u64(record));
    return value && new Uint8Array(value);
  }

  async close(): Promise<void> {
    await this.root.close();
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

function rangesDigest(records: readonly number[]): Buffer {
  const w = new Writer();
  writeRanges(w, records);
  return Buffer.from(sha256(w.toBytes()));
}

function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n);
  return b;
}

function treeKey(proof: number, depth: number, index: number): Buffer {
  const key = Buffer.allocUnsafe(13);
  u64(proof).copy(key, 0);
  key.writeUInt8(depth, 8);
  key.writeUInt32BE(index, 9);
  return key;
}
