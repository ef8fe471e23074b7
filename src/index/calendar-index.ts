/**
 * The LMDB index of a calendar journal: derived from the journal alone, disposable, fast. It is a
 * list of views (record positions, commitments, proof trees, stamps: one module each) and the journal
 * position it has applied, all updated in one transaction per batch of records, so it always matches
 * a prefix of the journal. It copies nothing the journal holds where reading it back is cheap: a
 * commitment is read from its record, found through the positions view. Every sub-database is opened
 * through one list, and clear() empties that list (and drops any other an older version left): a
 * view cannot keep anything from the history the index forgets.
 * @module
 */
import { open, type RootDatabase } from 'lmdb';
import type { ReadCursor, StoredRecord } from '../journal/journal.js';
import type { MerkleLevels } from '../journal/merkle-levels.js';
import { type ReadBackRecord, readRecordsSync } from '../journal/read-sync.js';
import { GENESIS_CHAIN_HASH, RecordKind } from '../journal/record.js';
import { SegmentFds } from '../journal/segment-fds.js';
import type { Op } from '../ots/index.js';
import { ChainScanStore } from './chain-scan-store.js';
import { type CommitmentState, CommitmentsView, type ProofReference } from './commitments-view.js';
import { databaseNames } from './database-names.js';
import { IndexConsistencyError } from './errors.js';
import type { IndexDatabase, IndexedRecord, IndexView } from './index-view.js';
import { indexedRecord } from './indexed-record.js';
import { readU64, u64 } from './keys.js';
import { OpenRecordsView, type RecordPlace } from './open-records-view.js';
import { POSITION_RECORDS, PositionsView } from './positions-view.js';
import type { ProofRun } from './proof-runs.js';
import { type ProofLocation, ProofTreesView } from './proof-trees-view.js';
import { StampsView } from './stamps-view.js';
import { decodeCursor, encodeCursor, StoredCursorDamagedError } from './stored-cursor.js';

/** The index format; an index of another version is rebuilt. */
export const INDEX_VERSION = 7;

const APPLIED_KEY = Buffer.from('applied');
/** A floor under the acknowledged position, kept when the index is cleared (encoded as `applied`). */
const ACKNOWLEDGED_KEY = Buffer.from('acknowledged');
const VERSION_KEY = Buffer.from('version');

/** Values of a DUPFIXED database as bytes, comparable for getValues' ranges (lmdb-js needs writeKey). */
const RAW_VALUES = {
  encode: (value: Buffer) => value,
  decode: (bytes: Uint8Array, size: number) => Buffer.from(bytes.subarray(0, size)),
  needsStableBuffer: true,
  writeKey: (value: Uint8Array, target: Uint8Array, at: number) => {
    target.set(value, at);
    return at + value.byteLength;
  },
};

export class CalendarIndex {
  private readonly root: RootDatabase<Buffer, Buffer>;
  /** Every sub-database, views' and meta alike, in the order opened. */
  private readonly databases: IndexDatabase[] = [];
  /** Their names. */
  private readonly openedNames: string[] = [];
  /** Every view, in the order each record is applied to them. */
  private readonly views: IndexView[] = [];
  /** The applied cursor, the acknowledged floor and the format version. */
  private readonly meta: IndexDatabase;
  private readonly positions: PositionsView;
  private readonly commitments: CommitmentsView;
  private readonly proofTrees: ProofTreesView;
  private readonly stamps: StampsView;
  private readonly delegations: OpenRecordsView;
  private readonly offers: OpenRecordsView;
  private readonly donations: OpenRecordsView;
  /** The chain follower's saved scan (derived from the chain, not the journal; cleared with the rest). */
  readonly chainScan: ChainScanStore;
  private cursor: ReadCursor;
  private floor: ReadCursor | undefined;

  /** The journal's segments, which commitments are read back from. */
  private readonly segments: SegmentFds;
  /** The last reader of records read back (see readCommitments), and the last record it gave. */
  private reader: JournalReader | undefined;
  /** Proof trees built from the records being appended, by proof record (see offerProofTrees). */
  private offeredTrees: ReadonlyMap<number, MerkleLevels> | undefined;

  private constructor(path: string, journalDir: string) {
    this.segments = new SegmentFds(journalDir);
    this.root = open<Buffer, Buffer>({ path, keyEncoding: 'binary', encoding: 'binary', maxDbs: 32 });
    const openDatabase = (name: string, options: { dupFixed?: boolean } = {}) => {
      const db = this.root.openDB<Buffer, Buffer>({
        name,
        keyEncoding: 'binary',
        encoding: 'binary',
        ...(options.dupFixed && { dupSort: true, dupFixed: true, encoder: RAW_VALUES }),
      });
      this.databases.push(db);
      this.openedNames.push(name);
      return db;
    };
    const view = <V extends IndexView>(v: V): V => {
      this.views.push(v);
      return v;
    };
    this.meta = openDatabase('meta');
    this.positions = view(new PositionsView(openDatabase));
    this.commitments = view(new CommitmentsView(openDatabase, (n) => this.readCommitment(n)));
    this.proofTrees = view(new ProofTreesView(openDatabase));
    this.stamps = view(new StampsView(openDatabase));
    // after the commitments view, so that they see the pending set after each proof
    const isPending = (n: number) => this.commitments.isPending(n);
    const openRecords = (name: string, covered: (e: IndexedRecord) => readonly number[] | undefined) =>
      view(new OpenRecordsView(openDatabase, name, covered, isPending));
    this.delegations = openRecords('delegations', (e) =>
      e.kind === 'delegation' ? e.delegation.commitments : undefined,
    );
    this.offers = openRecords('offers', (e) => (e.kind === 'offer' ? e.offer.commitments : undefined));
    this.donations = openRecords('donations', (e) =>
      e.kind === 'donation' ? e.donation.commitments : undefined,
    );
    this.chainScan = new ChainScanStore(openDatabase('chain-scan'));
    try {
      this.cursor = decodeCursor(this.meta.get(APPLIED_KEY), 'applied') ?? START;
      this.floor = decodeCursor(this.meta.get(ACKNOWLEDGED_KEY), 'acknowledged');
    } catch (e) {
      // a damaged position: nothing is written yet, so LMDB closes at once, and the files it mapped
      // can be removed and made anew by a rebuild in this process
      void this.root.close();
      this.segments.close();
      throw e;
    }
  }

  /**
   * Opens (creating if needed) the index at `path` of the journal in `journalDir`. An index of another
   * format version is emptied, the sub-databases it had and this one has not dropped; it keeps its
   * acknowledged position (`applied` and the floor are encoded alike in every version; a check
   * after their fields came later, and a value without one still reads). Check the
   * file first (openCheckedIndex): LMDB trusts what it maps.
   */
  static open(path: string, journalDir: string): CalendarIndex {
    const index = new CalendarIndex(path, journalDir);
    const version = index.meta.get(VERSION_KEY);
    if (version === undefined || readU64(version) !== INDEX_VERSION) {
      index.dropOthers();
      index.clear();
    }
    return index;
  }

  /** Drops the sub-databases LMDB lists that this version does not open (left by an older one). */
  private dropOthers(): void {
    const others = databaseNames(this.root).filter((name) => !this.openedNames.includes(name));
    for (const name of others) {
      this.root.openDB<Buffer, Buffer>({ name, keyEncoding: 'binary', encoding: 'binary' }).dropSync();
    }
  }

  /**
   * Empties every sub-database: the next catch-up rebuilds from record 0. The acknowledged position is
   * kept as a floor, so that opening the journal still refuses to lose what this index had applied;
   * `forgetAcknowledged` drops it too (`otsd reindex --accept-loss`).
   */
  clear(options: { forgetAcknowledged?: boolean } = {}): void {
    const floor = options.forgetAcknowledged ? undefined : this.acknowledged;
    this.root.transactionSync(() => {
      for (const db of this.databases) db.clearSync();
      this.meta.put(VERSION_KEY, u64(INDEX_VERSION));
      if (floor) this.meta.put(ACKNOWLEDGED_KEY, encodeCursor(floor));
    });
    this.commitments.emptied();
    this.dropReader();
    this.cursor = START;
    this.floor = floor;
  }

  /** Where to resume reading the journal: the next record to apply. */
  get applied(): ReadCursor {
    return this.cursor;
  }

  /**
   * How many records may have been acknowledged: the applied position, or the floor a clear() or a
   * rebuild kept if it is higher (where the records until then are, and the chain hash after them).
   * It only grows; undefined for an index that has applied nothing and kept no floor.
   */
  get acknowledged(): ReadCursor | undefined {
    return higher(this.cursor, this.floor);
  }

  /**
   * Writes the format version again, as the first write of a start: LMDB reads the free list and
   * writes pages at a commit, which no read does (damage there ends a write, or the process).
   */
  writeProbe(): void {
    this.root.transactionSync(() => {
      this.meta.put(VERSION_KEY, u64(INDEX_VERSION));
      // positions an earlier otsd stored without their check get it now, not at the next record
      // applied (a quiet calendar or mirror may wait long for one)
      if (this.cursor.number > 0) this.meta.put(APPLIED_KEY, encodeCursor(this.cursor));
      if (this.floor) this.meta.put(ACKNOWLEDGED_KEY, encodeCursor(this.floor));
    });
  }

  /** Carries the acknowledged position of an index this one replaces over to it (it only grows). */
  keepAcknowledged(position: ReadCursor): void {
    if (position.number <= (this.acknowledged?.number ?? 0)) return;
    this.meta.putSync(ACKNOWLEDGED_KEY, encodeCursor(position));
    this.floor = position;
  }

  /**
   * Applies journal records in order, in one transaction. Records already applied are skipped, so
   * applying the same batch twice is harmless; a gap is an error.
   */
  apply(batch: readonly StoredRecord[]): void {
    const fresh = batch.filter((r) => r.number >= this.cursor.number);
    if (fresh.length === 0) return;
    try {
      this.applyInTransaction(fresh);
    } catch (e) {
      // nothing of the batch was written, but what the commitments view keeps followed its records
      this.commitments.forget();
      throw e;
    }
  }

  private applyInTransaction(fresh: readonly StoredRecord[]): void {
    const last = fresh[fresh.length - 1] as StoredRecord;
    const floorReached = this.floor !== undefined && last.number + 1 >= this.floor.number;
    const cursor: ReadCursor = {
      number: last.number + 1,
      segment: last.segment,
      offset: last.offset + last.size,
      // a copy: a view would keep the batch's bytes (a whole segment's) until the next apply
      previousChainHash: last.chainHash.slice(),
    };
    /** The record being applied: those before it in the batch are. */
    let next = this.cursor.number;
    // a proof's commitments are most often in its own batch, before it: taken from there, not read back
    const base = next;
    const commitmentsAt = (numbers: readonly number[]) =>
      (numbers[0] ?? -1) >= base && (numbers.at(-1) ?? Number.POSITIVE_INFINITY) < next
        ? numbers.map((n) => {
            const record = fresh[n - base];
            return record?.kind === RecordKind.Commitment ? record.payload : undefined;
          })
        : this.readCommitments(numbers);
    this.root.transactionSync(() => {
      for (const record of fresh) {
        if (record.number !== next) {
          throw new IndexConsistencyError(`index: expected journal record ${next}, got ${record.number}`);
        }
        const entry = indexedRecord(record, commitmentsAt, (n) => this.offeredTrees?.get(n));
        for (const view of this.views) view.apply(entry);
        next++;
      }
      for (const view of this.views) view.finish?.();
      this.meta.put(APPLIED_KEY, encodeCursor(cursor));
      // a floor the applied position has reached says nothing more: an index rebuilt holds the same
      // entries as one built from nothing
      if (floorReached) this.meta.remove(ACKNOWLEDGED_KEY);
    });
    this.cursor = cursor;
    if (floorReached) this.floor = undefined;
  }

  /**
   * Trees of proof records about to be appended, built from those very records by a caller that
   * checked them (a mirror): applied in place of building each again, until the next call (undefined
   * once the append has ended, applied or not: a later record of the same number may differ).
   */
  offerProofTrees(trees: ReadonlyMap<number, MerkleLevels> | undefined): void {
    this.offeredTrees = trees;
  }

  // The questions the rest of otsd asks, each answered by the view that holds it.

  /** How many distinct commitments share the 6-byte prefix of `commitment`, counted up to `atMost`. */
  sharingPrefix(commitment: Uint8Array, atMost: number): number {
    return this.commitments.sharingPrefix(commitment, atMost);
  }

  lookup(commitment: Uint8Array): CommitmentState {
    return this.commitments.lookup(commitment);
  }

  // What the full check compares with the journal's proofs (see CommitmentsView).

  proofsHeld(first: number): ProofReference[] {
    return this.commitments.proofsHeld(first);
  }

  firstRecordOf(n: number): number {
    return this.commitments.firstRecordOf(n);
  }

  duplicateFrom(first: number): number | undefined {
    return this.commitments.duplicateFrom(first);
  }

  proofRunHolding(n: number): ProofRun | undefined {
    return this.commitments.proofRunHolding(n);
  }

  proofRunsFrom(start: number, limit: number): ProofRun[] {
    return this.commitments.proofRunsFrom(start, limit);
  }

  proofsKeptApartFrom(start: number, limit: number): { first: number; proofs: ProofReference[] }[] {
    return this.commitments.proofsKeptApartFrom(start, limit);
  }

  /** The commitment a commitment record the index has applied holds, read from the journal. */
  commitmentAt(record: number): Uint8Array | undefined {
    return record < this.cursor.number ? this.readCommitment(record) : undefined;
  }

  /** The commitment record `n` holds, read back from the journal from the kept position before it. */
  private readCommitment(n: number): Buffer | undefined {
    return this.readCommitments([n])[0];
  }

  /**
   * The commitments records `numbers` (ascending) hold, read from the journal in one pass per run of
   * nearby records; undefined for a record that is not a commitment. The pass goes on from where the
   * last call left it when `numbers` begin shortly after (a mirror checking a proof asks for its
   * commitments one at a time).
   */
  private readCommitments(numbers: readonly number[]): (Buffer | undefined)[] {
    const out: (Buffer | undefined)[] = [];
    for (const n of numbers) {
      let found: Buffer | undefined;
      const reader = this.readerAt(n);
      let step: IteratorResult<ReadBackRecord> | undefined;
      try {
        for (step = reader?.records.next(); reader && step && !step.done; step = reader.records.next()) {
          reader.at = step.value.number;
          if (reader.at < n) continue;
          if (reader.at === n && step.value.kind === RecordKind.Commitment)
            found = Buffer.from(step.value.payload);
          break;
        }
      } catch (e) {
        this.reader = undefined;
        throw e;
      }
      // it ran to the journal's end: the next is made anew, from wherever the journal ends then
      if (step?.done) this.reader = undefined;
      out.push(found);
    }
    return out;
  }

  /**
   * A reader of the journal that has not passed record `n`: the last one if `n` is a little after
   * where it stopped and was durable when it was made, else one from the kept position before `n`.
   */
  private readerAt(n: number): JournalReader | undefined {
    const kept = this.reader;
    if (kept && n > kept.at && n - kept.at <= POSITION_RECORDS && n < kept.durableBelow) return kept;
    this.dropReader();
    const from = this.positions.positionBefore(n);
    if (from)
      this.reader = {
        records: readRecordsSync(this.segments, from),
        at: from.number - 1,
        durableBelow: this.cursor.number,
      };
    return this.reader;
  }

  private dropReader(): void {
    this.reader?.records.return(undefined);
    this.reader = undefined;
  }

  /** Number of commitments not yet covered by a proof. */
  get pendingCount(): number {
    return this.commitments.pendingCount;
  }

  /** Record numbers of pending commitments, oldest first. */
  pendingRecords(): Generator<number> {
    return this.commitments.pendingRecords();
  }

  /** Number of distinct commitments (what a client divides by 16^nibbles to size an anonymity set). */
  get commitmentCount(): number {
    return this.commitments.commitmentCount;
  }

  /** The commitments whose hex starts with `prefix`, in byte order, at most `limit` of them. */
  commitmentsWithPrefix(prefix: string, limit: number): Uint8Array[] {
    return this.commitments.commitmentsWithPrefix(prefix, limit);
  }

  proofLocation(proof: number): ProofLocation | undefined {
    return this.proofTrees.proofLocation(proof);
  }

  /** The ops from sha256(commitment) (the leaf) to the proof's tip. */
  merklePath(proof: number, leaf: number): Op[] {
    return this.proofTrees.merklePath(proof, leaf);
  }

  /** Whether commitment record `record` is pending (no proof covers it yet). */
  isPending(record: number): boolean {
    return this.commitments.isPending(record);
  }

  /** Stamp records of stamping transactions not ended yet: the versions in flight. */
  openStamps(): { number: number; segment: number; offset: number }[] {
    return this.stamps.openStamps();
  }

  /** Delegation records with a commitment not proven yet. */
  openDelegations(): RecordPlace[] {
    return this.delegations.openRecords();
  }

  /** Offer records with a commitment not proven yet: tips that may still be offered. */
  openOffers(): RecordPlace[] {
    return this.offers.openRecords();
  }

  /** Donation records with a commitment not proven yet. */
  openDonations(): RecordPlace[] {
    return this.donations.openRecords();
  }

  /** Fees of stamping transactions built at `fromHeight` or later (each transaction's largest version). */
  stampFeesSince(fromHeight: number): number {
    return this.stamps.stampFeesSince(fromHeight);
  }

  /** The height the newest stamping transaction was built at (its nLockTime), if there is one. */
  lastStampHeight(): number | undefined {
    return this.stamps.lastStampHeight();
  }

  /** Whether record `number` is a stamp record. */
  isStampRecord(number: number): boolean {
    return this.stamps.isStamp(number);
  }

  /** Where chunk `chunk` (records chunk*CHUNK_RECORDS onward) starts in the journal, once it has begun. */
  chunkStart(chunk: number): { segment: number; offset: number } | undefined {
    return this.positions.chunkStart(chunk);
  }

  async close(): Promise<void> {
    this.dropReader();
    this.segments.close();
    await this.root.close();
  }
}

interface JournalReader {
  records: Generator<ReadBackRecord>;
  at: number;
  /**
   * Records the index had applied when the reader was made: durable then, so their bytes are the
   * journal's for good. The reader reads ahead of them (64 KiB at a time), into records that may be
   * being written, and that a failed write cuts back and writes anew: those it must never serve.
   */
  durableBelow: number;
}

const START: ReadCursor = { number: 0, segment: 0, offset: 0, previousChainHash: GENESIS_CHAIN_HASH };

/**
 * The acknowledged position an index's `meta` database keeps (CalendarIndex.acknowledged), read
 * without opening the index: by the child that reads a suspect index's pages. A damaged position is
 * the index's `problem`; the other one, if it reads, is still the position kept.
 */
export function storedAcknowledged(meta: { get(key: Buffer): Buffer | undefined }): {
  acknowledged: ReadCursor | undefined;
  problem: string | undefined;
} {
  const read = (key: Buffer, what: string): { cursor?: ReadCursor | undefined; problem?: string } => {
    try {
      return { cursor: decodeCursor(meta.get(key), what) };
    } catch (e) {
      if (!(e instanceof StoredCursorDamagedError)) throw e;
      return { problem: e.message };
    }
  };
  const applied = read(APPLIED_KEY, 'applied');
  const floor = read(ACKNOWLEDGED_KEY, 'acknowledged');
  return {
    acknowledged: higher(applied.cursor ?? START, floor.cursor),
    problem: applied.problem ?? floor.problem,
  };
}

/** The further of the applied position and a floor, or undefined where both are at record 0. */
function higher(applied: ReadCursor, floor: ReadCursor | undefined): ReadCursor | undefined {
  const highest = floor && floor.number > applied.number ? floor : applied;
  return highest.number > 0 ? highest : undefined;
}
