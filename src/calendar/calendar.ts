/**
 * The calendar: accepts commitments (round tips) into the journal, records proofs for them, and
 * answers timestamp lookups from the index. The journal is the truth; the index follows it through
 * the journal's append hook and catches up on open.
 * @module
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CalendarIndex } from '../index/calendar-index.js';
import { catchUpIndex, catchUpOrMarkDamaged } from '../index/catch-up.js';
import { FullIndexCheck, IndexNotCheckedError } from '../index/full-check.js';
import type { Journal, JournalLogger, StoredRecord } from '../journal/journal.js';
import { decodeProofPayload, encodeProofPayload } from '../journal/proof-payload.js';
import { RecordKind } from '../journal/record.js';
import {
  equalBytes,
  MerkleTree,
  OpSHA256,
  PendingAttestation,
  sha256,
  Timestamp,
  toHex,
} from '../ots/index.js';
import type { PrefixEntry } from '../remote/prefix-answer.js';
import { AnswerCache } from './answer-cache.js';
import { openStorage } from './open-storage.js';

export interface CalendarOptions {
  dataDir: string;
  /** Public URI written into every PendingAttestation; clients fetch `<uri>/timestamp/<hex>`. */
  uri: string;
  create?: boolean;
  maxSegmentBytes?: number;
  log?: JournalLogger;
  /** Called every 10,000 records while the index catches up, and at the end. */
  onCatchUpProgress?: (applied: number, total: number) => void;
  /** Called at most every 10 s while the index's file check at start goes on. */
  onIndexCheck?: () => void;
}

export type Lookup = { state: 'found'; timestamp: Timestamp } | { state: 'pending' } | { state: 'unknown' };

/** A commitment's GET /timestamp answer: the serialized proof, or the record that waits for one. */
export type Answer =
  | { state: 'found'; bytes: Uint8Array }
  | { state: 'pending'; record: number }
  | { state: 'unknown' };

/** Longest commitment the calendar stores or looks up. */
export const MAX_COMMITMENT_BYTES = 64;

const SHA256 = new OpSHA256();
const PROOF_CACHE_ENTRIES = 256;
/** Serialized proofs kept for GET /timestamp: some 25,000 proofs of 650 bytes. */
const ANSWER_CACHE_BYTES = 16 * 1024 * 1024;
/** How long a lookup that finds nothing waits for the full check of the index to end. */
const FULL_CHECK_WAIT_MS = 5000;

export class Calendar {
  readonly uri: string;
  readonly journal: Journal;
  readonly index: CalendarIndex;
  /** Parsed tip timestamps of recent proof records: every lookup of a commitment in them needs one. */
  private readonly proofTips = new Map<number, Timestamp>();
  private readonly answers = new AnswerCache(ANSWER_CACHE_BYTES);
  private readonly indexPath: string;
  private fullCheck: FullIndexCheck | undefined;

  private constructor(uri: string, journal: Journal, index: CalendarIndex, indexPath: string) {
    this.uri = uri;
    this.journal = journal;
    this.index = index;
    this.indexPath = indexPath;
  }

  static async open(options: CalendarOptions): Promise<Calendar> {
    PendingAttestation.checkUri(options.uri);
    const { index, journal } = await openStorage({
      dataDir: options.dataDir,
      ...(options.log !== undefined && { log: options.log }),
      ...(options.create !== undefined && { create: options.create }),
      ...(options.maxSegmentBytes !== undefined && { maxSegmentBytes: options.maxSegmentBytes }),
      ...(options.onCatchUpProgress !== undefined && { onCatchUpProgress: options.onCatchUpProgress }),
      ...(options.onIndexCheck !== undefined && { onIndexCheck: options.onIndexCheck }),
    });
    const calendar = new Calendar(options.uri, journal, index, join(options.dataDir, 'index'));
    // an index that fails to take a batch catches up from the journal before the batch is acknowledged
    // and the next one written; if it cannot, the journal waits out a full disk and stops (otsd exits)
    // for anything else, LMDB's damage marked for the next start to rebuild
    journal.onAppend(
      (records) => index.apply(records),
      () => catchUpOrMarkDamaged(index, journal, calendar.indexPath),
    );
    return calendar;
  }

  /**
   * Starts checking the whole index against the journal in the background (otsd, once it listens):
   * from then on a lookup that finds nothing is answered only from an index that passed it.
   */
  startFullIndexCheck(log: JournalLogger): void {
    this.fullCheck = new FullIndexCheck(this.index, this.indexPath, this.journal, log);
  }

  /** The full check of the index, once started. */
  get indexCheck(): FullIndexCheck | undefined {
    return this.fullCheck;
  }

  /** Rebuilds the index from the journal alone. */
  async reindex(onProgress?: (applied: number, total: number) => void): Promise<void> {
    this.index.clear();
    this.proofTips.clear();
    await catchUpIndex(this.index, this.journal, { onProgress });
  }

  /**
   * Commits a round tip: durable (fsync) and indexed when this resolves. Returns the timestamp of the
   * tip that each client of the round gets: a PendingAttestation with this calendar's URI.
   */
  async commit(tip: Uint8Array): Promise<Timestamp> {
    if (tip.byteLength === 0 || tip.byteLength > MAX_COMMITMENT_BYTES) {
      throw new RangeError(`calendar: commitment of ${tip.byteLength} bytes (1..${MAX_COMMITMENT_BYTES})`);
    }
    await this.journal.append(RecordKind.Commitment, tip);
    const timestamp = new Timestamp(tip);
    timestamp.attestations.add(new PendingAttestation(this.uri));
    return timestamp;
  }

  /**
   * The merkle tip of the commitments in records `commitments` (ascending): the root of makeMerkleTree
   * over sha256 of each. What a stamping transaction commits to, or a master calendar is sent.
   */
  merkleTip(commitments: readonly number[]): Uint8Array {
    return new MerkleTree(
      commitments.map((n) => {
        const commitment = this.index.commitmentAt(n);
        if (!commitment) throw new RangeError(`calendar: record ${n} is not a commitment`);
        return sha256(commitment);
      }),
    ).root;
  }

  /**
   * Records a proof for the commitments in records `commitments` (ascending): `tip` is the timestamp of
   * their merkle tip. A tip that is not that root is refused before anything is written.
   */
  async addProof(commitments: number[], tip: Timestamp): Promise<StoredRecord> {
    if (commitments.length === 0 || !equalBytes(this.merkleTip(commitments), tip.msg)) {
      throw new RangeError('calendar: proof tip is not the merkle root of its commitments');
    }
    return this.journal.append(RecordKind.Proof, encodeProofPayload({ commitments, tip }));
  }

  /**
   * The timestamp of `commitment` from the first proof record that covers it (the lowest record
   * number), or why there is none. A 200 answer is cached for a year, so a later proof of the same
   * commitment (through another source's transaction) changes nothing that is served; the index keeps
   * its reference all the same.
   */
  async lookup(commitment: Uint8Array): Promise<Lookup> {
    const found = this.index.lookup(commitment);
    if (found.state !== 'proved') return { state: found.state };
    // the index lists a commitment's proofs in record order
    const first = found.proofs[0] as (typeof found.proofs)[number];
    const timestamp = new Timestamp(commitment);
    let node = timestamp.ops.add(SHA256);
    for (const op of this.index.merklePath(first.proof, first.leaf)) node = node.ops.add(op);
    node.merge(await this.proofTip(first.proof));
    return { state: 'found', timestamp };
  }

  /**
   * `lookup`, serialized, for GET /timestamp: a proved commitment's bytes are built once and then served
   * from a bounded cache (they never change, see `lookup`); a pending or unknown one costs one index read.
   */
  async answer(commitment: Uint8Array): Promise<Answer> {
    const key = answerKey(commitment);
    const cached = this.answers.get(key);
    if (cached) return { state: 'found', bytes: cached };
    const found = this.index.lookup(commitment);
    if (found.state === 'unknown') return this.unknown(commitment);
    if (found.state !== 'proved') return found;
    const looked = await this.lookup(commitment);
    if (looked.state !== 'found')
      throw new Error(`calendar: proved commitment ${toHex(commitment)} has no timestamp`);
    const bytes = looked.timestamp.toBytes();
    this.answers.set(key, bytes);
    return { state: 'found', bytes };
  }

  /**
   * `answer` of the proved commitment whose hex, in lowercase, is `hex` (as clients send it) and whose
   * answer is built already, at once (no index read, no promise, not even the commitment's bytes: the
   * server's fast path serves most GET /timestamp from here); undefined for any other string.
   */
  builtAnswer(hex: string): Uint8Array | undefined {
    return this.answers.get(hex);
  }

  /**
   * A lookup that found nothing, answered as such only from an index that passed the full check (or
   * is not being checked: offline tools). While the check runs it waits for it a few seconds; an index
   * still unchecked after that, or found damaged, gets IndexNotCheckedError, never "unknown".
   */
  private async unknown(commitment: Uint8Array): Promise<Answer> {
    const check = this.fullCheck;
    if (!check || check.passed) return { state: 'unknown' };
    if (await this.indexTrusted()) return this.answer(commitment);
    throw new IndexNotCheckedError(
      `calendar: commitment ${toHex(commitment)} is not in the index, whose full check ${check.state === 'running' ? 'still runs' : `ended: ${check.state}`}`,
    );
  }

  /**
   * Whether what the index lacks may be taken for absent: it passed the full check (waited for a few
   * seconds while it runs), or is not being checked (offline tools).
   */
  private async indexTrusted(): Promise<boolean> {
    const check = this.fullCheck;
    if (!check || check.passed) return true;
    if (check.state === 'running')
      await Promise.race([check.done, sleep(FULL_CHECK_WAIT_MS, undefined, { ref: false })]);
    return check.passed;
  }

  /**
   * Every commitment whose hex starts with `prefix` with its current timestamp (the proof when
   * complete, else this calendar's PendingAttestation), in byte order; undefined when there are more
   * than `limit`. IndexNotCheckedError while the index has not passed its full check.
   */
  async timestampsWithPrefix(prefix: string, limit: number): Promise<PrefixEntry[] | undefined> {
    // a list from an index not checked in full could lack commitments the journal holds
    if (!(await this.indexTrusted()))
      throw new IndexNotCheckedError(
        `calendar: prefix ${prefix} not listed: the index's full check ${this.fullCheck?.state === 'running' ? 'still runs' : `ended: ${this.fullCheck?.state}`}`,
      );
    const commitments = this.index.commitmentsWithPrefix(prefix, limit + 1);
    if (commitments.length > limit) return undefined;
    return Promise.all(
      commitments.map(async (commitment) => {
        const found = await this.lookup(commitment);
        if (found.state === 'found') return { commitment, complete: true, timestamp: found.timestamp };
        const timestamp = new Timestamp(commitment);
        timestamp.attestations.add(new PendingAttestation(this.uri));
        return { commitment, complete: false, timestamp };
      }),
    );
  }

  private async proofTip(proof: number): Promise<Timestamp> {
    const cached = this.proofTips.get(proof);
    if (cached) return cached;
    const location = this.index.proofLocation(proof);
    if (!location) throw new Error(`calendar: proof record ${proof} is not indexed`);
    const record = await this.journal.readAt({
      number: proof,
      segment: location.segment,
      offset: location.offset,
    });
    const { tip } = decodeProofPayload(record.payload);
    if (this.proofTips.size >= PROOF_CACHE_ENTRIES) {
      this.proofTips.delete(this.proofTips.keys().next().value as number);
    }
    this.proofTips.set(proof, tip);
    return tip;
  }

  async close(): Promise<void> {
    await this.fullCheck?.stop();
    await this.journal.close();
    await this.index.close();
  }
}

/** A commitment's key in the answer cache: its hex in lowercase, as clients name it (see builtAnswer). */
const answerKey = (commitment: Uint8Array) => toHex(commitment);
