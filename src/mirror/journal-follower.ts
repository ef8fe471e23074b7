/**
 * Follows a calendar's journal into a local one: downloads chunks from the local head onward (see
 * ChunkSource), sets each against the records held (see readChunk) and checks every new record (see
 * verifyRecord; a long sync's bodies are checked ahead in another thread, see checkedChunks), appends
 * them, then long-polls for the next records. Data that does not check out is refused
 * (MirrorIntegrityError) and asked for again, with backoff; a history that contradicts the records
 * held (MirrorForkError) ends it. A mirror runs it; a client can too, to keep its own verified
 * copy of a calendar.
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Calendar } from '../calendar/calendar.js';
import { CHUNK_RECORDS } from '../journal/chunk.js';
import type { ChainedRecords, StoredRecord } from '../journal/journal.js';
import { MerkleLevels } from '../journal/merkle-levels.js';
import { decodeProofRanges } from '../journal/proof-payload.js';
import { CHAIN_HASH_BYTES, RecordKind } from '../journal/record.js';
import type { ScannedRecord } from '../journal/scan.js';
import { equalBytes, toHex } from '../ots/index.js';
import { type CheckedChunk, checkedChunks } from './checked-chunks.js';
import { ChunkSource, type UpstreamHead } from './chunk-source.js';
import type { HeaderCheck } from './header-check.js';
import { MirrorForkError, MirrorIntegrityError } from './integrity-error.js';
import { PrefixCounts } from './prefix-counts.js';
import { type ChunkReading, readChunk } from './upstream-chunk.js';
import {
  type CheckedProof,
  checkRecordAgainstHeld,
  checkRecordBody,
  type RecordContext,
  verifyAttestations,
} from './verify-record.js';

/**
 * Most records, and bytes of chunks, verified before they are appended in one group (one fsync, one
 * index transaction): a transaction costs far more than its records' share, so few large ones make a
 * sync several times faster than one per chunk. One group is appended while the next is checked.
 */
const GROUP_RECORDS = 32 * 1024;
const GROUP_BYTES = 8 * 1024 * 1024;
/** Most bytes of proof trees a group keeps for the index, which builds any other again. */
const GROUP_TREE_BYTES = 16 * 1024 * 1024;
/** Waits between attempts after a failure: the first, and the most (doubling in between). */
const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 60_000;
/** Least time between two long polls: an upstream (or a cache) may answer them at once. */
const MIN_POLL_MS = 1000;

export interface FollowerOptions {
  upstream: string;
  /** The local calendar: its journal receives the records, its index checks proofs; its URI is the one PendingAttestation a proof may carry. */
  calendar: Calendar;
  /** Verifies Bitcoin attestations (nodeHeaderCheck, upstreamHeaderCheck; insecureNoHeaderCheck skips them). */
  checkHeader: HeaderCheck;
  timeoutMs?: number;
  /** Long-poll wait for new records, seconds. */
  waitSeconds?: number;
  onProgress?: (progress: { local: number; upstream: number }) => void;
  /** Told when the thread checking a long sync's chunks fails: the sync goes on without it. */
  onCheckThreadFailure?: (error: Error) => void;
}

/** Records of one chunk the mirror holds, as stored, and the chain hash before them. */
interface Held {
  bytes: Uint8Array;
  previous: Uint8Array;
  /** `previous` is that of records this sync verified in the chunk before: nothing earlier to settle. */
  verifiedHere?: true;
}

/** Records verified and not appended yet, and what later records may refer to among them. */
class Group {
  /** Its records, as they lie in the chunks they came in (a run of each chunk's fresh records). */
  readonly runs: ChainedRecords[] = [];
  /** How many records each run holds. */
  readonly runRecords: number[] = [];
  records = 0;
  /** The commitment each of its records holds (by record number less `first`; undefined for another kind). */
  private readonly held: (Uint8Array | undefined)[] = [];
  commitments = 0;
  /** How many of its commitments have each 6-byte prefix: see MAX_SHARED_PREFIX. */
  readonly prefixes = new PrefixCounts();
  readonly stamps = new Set<number>();
  /** Bytes of the chunks its records are in (held until they are appended). */
  bytes = 0;
  /** The trees of its proofs, built to check them, for the index (see GROUP_TREE_BYTES). */
  readonly trees = new Map<number, MerkleLevels>();
  treeBytes = 0;

  /** A group from record `first` on. */
  constructor(readonly first: number) {}

  /** Record `n`, the next one, verified: `commitment` if it holds one. */
  take(n: number, commitment: Uint8Array | undefined): void {
    this.held[n - this.first] = commitment;
    if (commitment) this.commitments++;
  }

  /** The commitment record `n` holds, if it is one of the group's. */
  commitmentAt(n: number): Uint8Array | undefined {
    return n >= this.first ? this.held[n - this.first] : undefined;
  }
}

const NOTHING_HELD = new Uint8Array(0);

/** What checkRecordBody returns for a proof record whose body was checked ahead: its tip, its tree if built. */
function proofCheckedAhead(
  record: ScannedRecord,
  trees: ReadonlyMap<number, MerkleLevels>,
): CheckedProof | undefined {
  if (record.kind !== RecordKind.Proof) return undefined;
  return { tip: decodeProofRanges(record.payload).tip, tree: trees.get(record.number) };
}

/** `tree` in a buffer of its own. */
function ownCopy(tree: MerkleLevels): MerkleLevels {
  const nodes = new Uint8Array(tree.nodeBytes);
  return MerkleLevels.fromNodes(tree.leaves, Buffer.from(nodes.buffer, 0, nodes.byteLength));
}

export class JournalFollower {
  private readonly o: FollowerOptions;
  private readonly source: ChunkSource;
  /** The upstream head last seen, for the lag on the status page. */
  lastUpstreamHead: UpstreamHead | undefined;
  lastSyncAt: number | undefined;
  /** Commitments in the local journal (counted once: LMDB counts by walking). */
  private heldCommitments: number | undefined;

  constructor(options: FollowerOptions) {
    this.o = options;
    this.source = new ChunkSource(options.upstream, options.timeoutMs);
  }

  /** Ends the connections kept alive to the upstream (a sync after this opens others). */
  close(): void {
    this.source.close();
  }

  /** The upstream head; with `after`, waits (long poll) until it has more than `after` records. */
  async head(after?: number): Promise<UpstreamHead> {
    this.lastUpstreamHead = await this.source.head(after, this.o.waitSeconds ?? 25);
    return this.lastUpstreamHead;
  }

  /**
   * Downloads and appends everything up to the upstream's current head; returns how many records.
   * Throws MirrorIntegrityError for data refused (what verified before it is kept), MirrorForkError
   * for a history that contradicts ours.
   */
  async syncOnce(): Promise<number> {
    const journal = this.o.calendar.journal;
    const upstream = await this.head();
    const startRecords = journal.head.records;
    if (
      startRecords > 0 &&
      (upstream.records < startRecords ||
        (upstream.records === startRecords && upstream.chainHash !== toHex(journal.head.chainHash)))
    ) {
      await this.contradictingHead(upstream);
    }
    if (startRecords < upstream.records) await this.syncTo(upstream.records);
    this.lastSyncAt = Date.now();
    return journal.head.records - startRecords;
  }

  /**
   * The head says the upstream has fewer records than we hold, or another last record. Its journal
   * decides, in the chunk holding the last record both hold: a record there that differs from ours is a
   * fork (settle throws); one that agrees leaves a stale head, or a stale copy of the journal (a cache,
   * a calendar restored from a backup), which contradicts nothing: refused, and asked for again. A
   * restored calendar that writes on is caught as a fork once it writes a record we hold. Always throws.
   */
  private async contradictingHead(upstream: UpstreamHead): Promise<never> {
    const local = this.o.calendar.journal.head.records;
    const says = `the upstream's head says ${upstream.records} records (last chain hash ${upstream.chainHash})`;
    const fewer = `upstream has ${upstream.records} records, fewer than the ${local} already mirrored`;
    if (upstream.records === 0) throw new MirrorIntegrityError(`${fewer}: an empty or stale upstream`);
    const chunk = Math.floor((Math.min(local, upstream.records) - 1) / CHUNK_RECORDS);
    const bytes = await this.source.chunk(chunk);
    if (!bytes) throw new MirrorIntegrityError(`upstream chunk ${chunk} is missing although ${says}`);
    const reading = await this.settle(chunk, bytes, await this.held(chunk));
    const end = reading.kind === 'short' ? reading.end : (chunk + 1) * CHUNK_RECORDS;
    if (upstream.records < local && end < local)
      throw new MirrorIntegrityError(
        `${fewer}, each of them ours (its journal ends at record ${Math.min(end, upstream.records) - 1}): a stale copy, or a calendar restored from a backup`,
      );
    if (reading.kind === 'continues')
      throw new MirrorIntegrityError(`${says}, but its journal holds our record ${local - 1}: a stale head`);
    throw new MirrorIntegrityError(
      `upstream chunk ${chunk} ends at record ${reading.end - 1} although ${says}`,
    );
  }

  /**
   * Downloads the chunks from our head to the upstream's `upstreamRecords` (several at once, checked
   * ahead in another thread when there are many: see checkedChunks), checks them in order and
   * appends what verified in groups, each while the next is checked. A chunk that fails to download
   * or verify ends it: what verified before it is appended, then the error is thrown.
   */
  private async syncTo(upstreamRecords: number): Promise<void> {
    const { journal, index } = this.o.calendar;
    const startRecords = journal.head.records;
    const firstChunk = Math.floor(startRecords / CHUNK_RECORDS);
    const lastChunk = Math.ceil(upstreamRecords / CHUNK_RECORDS);
    let held = await this.held(firstChunk);
    this.heldCommitments ??= index.commitmentCount;
    const chunks = checkedChunks({
      source: this.source,
      first: firstChunk,
      end: lastChunk,
      held,
      commitments: this.heldCommitments,
      ...(this.o.onCheckThreadFailure && { onThreadFailure: this.o.onCheckThreadFailure }),
    });
    let tail = { records: startRecords, chainHash: journal.head.chainHash };
    let group = new Group(startRecords);
    /** The group being appended, until it is (and indexed). */
    let appending: { group: Group; done: Promise<void> } | undefined;
    const append = async (records: Group) => {
      await appending?.done;
      const done = this.append(records).then((commitments) => {
        this.heldCommitments = (this.heldCommitments ?? 0) + commitments;
        appending = undefined;
        this.o.onProgress?.({ local: journal.head.records, upstream: upstreamRecords });
      });
      // awaited before the next group, or at the end
      done.catch(() => undefined);
      appending = { group: records, done };
    };
    const context = {
      commitmentAt: (n: number) =>
        group.commitmentAt(n) ?? appending?.group.commitmentAt(n) ?? index.commitmentAt(n),
      commitments: () =>
        (this.heldCommitments ?? 0) + (appending?.group.commitments ?? 0) + group.commitments,
      isStampAt: (n: number) =>
        group.stamps.has(n) || appending?.group.stamps.has(n) === true || index.isStampRecord(n),
      sharingPrefix: (commitment: Uint8Array, atMost: number) => {
        const inGroups =
          group.prefixes.count(commitment) + (appending?.group.prefixes.count(commitment) ?? 0);
        return inGroups >= atMost ? inGroups : inGroups + index.sharingPrefix(commitment, atMost - inGroups);
      },
    };
    let failure: unknown;
    try {
      for (let chunk = firstChunk; tail.records < upstreamRecords; chunk++) {
        const next = await chunks.next();
        if (next.done)
          throw new Error(`mirror: no chunk ${chunk} was read, although the upstream's head has it`);
        const checked = next.value;
        const bytes = checked.bytes;
        if (!bytes)
          throw new MirrorIntegrityError(`upstream chunk ${chunk} is missing although its head has it`);
        const fresh = await this.verifyChunk(checked, bytes, held, group, context);
        const first = fresh[0];
        const last = fresh.at(-1);
        if (first && last) {
          group.runs.push({
            bytes: bytes.subarray(first.offset, last.offset + last.size),
            after: tail.chainHash,
          });
          group.runRecords.push(fresh.length);
          group.records += fresh.length;
          tail = { records: last.number + 1, chainHash: last.chainHash };
        }
        group.bytes += bytes.byteLength;
        held = { bytes: NOTHING_HELD, previous: tail.chainHash, verifiedHere: true };
        if (tail.records < Math.min((chunk + 1) * CHUNK_RECORDS, upstreamRecords)) {
          throw new MirrorIntegrityError(
            `upstream chunk ${chunk} ends at record ${tail.records - 1} although its head has ${upstreamRecords} records`,
          );
        }
        if (group.records >= GROUP_RECORDS || group.bytes >= GROUP_BYTES) {
          await append(group);
          group = new Group(tail.records);
        }
      }
    } catch (e) {
      failure = e;
    } finally {
      await chunks.return(undefined);
    }
    await append(group);
    await appending?.done;
    if (failure !== undefined) throw failure;
  }

  /**
   * Appends records verified in one group, its proofs' trees offered to the index (built from these
   * very records); resolves with how many commitments they hold.
   */
  private async append(group: Group): Promise<number> {
    const { journal, index } = this.o.calendar;
    index.offerProofTrees(group.trees);
    let written: StoredRecord[];
    try {
      written = await journal.appendChained(group.runs);
    } finally {
      index.offerProofTrees(undefined);
    }
    // a run that no longer followed the journal's head (something else was appended meanwhile) was
    // chained anew, and every run after it: the last chain hash of each tells, as it covers the run
    let at = 0;
    group.runs.forEach((run, i) => {
      const records = group.runRecords[i] as number;
      const last = written[at + records - 1] as StoredRecord;
      if (!equalBytes(last.chainHash, run.bytes.subarray(run.bytes.byteLength - CHAIN_HASH_BYTES))) {
        const first = (written[at] as StoredRecord).number;
        throw new MirrorIntegrityError(
          `record ${first}: appended with another chain hash (the journal took another record before it)`,
        );
      }
      at += records;
    });
    // those appended: a chunk that failed midway had some of its commitments verified, none appended
    let commitments = 0;
    for (const record of written) if (record.kind === RecordKind.Commitment) commitments++;
    return commitments;
  }

  /**
   * The records of an upstream chunk past what we hold (or will hold, once the records verified
   * before it in this sync are appended), each checked: its body, unless it was checked ahead (see
   * checkedChunks), and against what we hold. The group gathers its commitments and stamp records as
   * they verify: later records may refer to them before they are indexed.
   */
  private async verifyChunk(
    checked: CheckedChunk,
    bytes: Uint8Array,
    held: Held,
    group: Group,
    context: Pick<RecordContext, 'commitmentAt' | 'isStampAt' | 'sharingPrefix'> & { commitments(): number },
  ): Promise<ScannedRecord[]> {
    const { chunk } = checked;
    if (!equalBytes(checked.previous, held.previous))
      throw new Error(`mirror: upstream chunk ${chunk} was read after another chain hash than ours`);
    // a chunk that does not simply continue the records before it is read again, to tell why
    const reading = checked.fresh
      ? { kind: 'continues' as const, fresh: checked.fresh }
      : await this.settle(chunk, bytes, held);
    if (reading.kind === 'short') {
      throw new MirrorIntegrityError(
        `upstream chunk ${chunk} ends at record ${reading.end - 1}, before the ${this.o.calendar.journal.head.records} records already mirrored`,
      );
    }
    const checkedAhead = checked.fresh ? checked.bodyChecked : undefined;
    const recordContext: RecordContext = {
      commitmentAt: context.commitmentAt,
      commitments: 0,
      isStampAt: context.isStampAt,
      sharingPrefix: context.sharingPrefix,
      calendarUri: this.o.calendar.uri,
      checkHeader: this.o.checkHeader,
    };
    for (let i = 0; i < reading.fresh.length; i++) {
      const record = reading.fresh[i] as ScannedRecord;
      recordContext.commitments = context.commitments();
      const proof =
        checkedAhead?.[i] === 1
          ? proofCheckedAhead(record, checked.trees)
          : checkRecordBody(record, recordContext);
      checkRecordAgainstHeld(record, recordContext);
      if (proof) await verifyAttestations(record, proof.tip, recordContext);
      if (proof?.tree && group.treeBytes + proof.tree.byteLength <= GROUP_TREE_BYTES) {
        // a copy of one checked ahead: a view would keep all the trees of its chunk (up to 16 MiB)
        group.trees.set(record.number, checkedAhead ? ownCopy(proof.tree) : proof.tree);
        group.treeBytes += proof.tree.byteLength;
      }
      const commitment = record.kind === RecordKind.Commitment ? record.payload : undefined;
      group.take(record.number, commitment);
      if (commitment) group.prefixes.add(commitment);
      if (record.kind === RecordKind.Stamp) group.stamps.add(record.number);
    }
    return reading.fresh;
  }

  /**
   * Reads upstream chunk `chunk` against what we hold of it; throws for a fork or damage. A chunk whose
   * first record does not follow from ours is settled by the chunks before it: the first that differs
   * from ours tells whether the upstream forked, or this record is damaged.
   */
  private async settle(
    chunk: number,
    bytes: Uint8Array,
    held: Held,
  ): Promise<Extract<ChunkReading, { kind: 'continues' | 'short' }>> {
    const reading = readChunk(bytes, chunk * CHUNK_RECORDS, held.bytes, held.previous);
    switch (reading.kind) {
      case 'continues':
      case 'short':
        return reading;
      case 'forks':
        throw new MirrorForkError(
          `upstream record ${reading.at} differs from ours and follows from ${reading.at === 0 ? 'the start of the journal' : `our record ${reading.at - 1}`}: the upstream's history forks from the one mirrored`,
        );
      case 'damaged':
        throw new MirrorIntegrityError(`upstream chunk ${chunk}: record ${reading.at}: ${reading.reason}`);
      case 'unlinked': {
        const damaged = new MirrorIntegrityError(
          `upstream chunk ${chunk}: record ${chunk * CHUNK_RECORDS}: ${reading.reason}`,
        );
        // the chunk before was verified in this sync: this one does not follow from it
        if (held.verifiedHere) throw damaged;
        const before = await this.source.chunk(chunk - 1);
        if (!before) throw damaged;
        // its last record carries our chain hash before this chunk, which covers every record before:
        // the upstream agrees with ours up to here, and this chunk's first record is damaged
        if (equalBytes(before.subarray(before.byteLength - CHAIN_HASH_BYTES), held.previous)) throw damaged;
        // throws for a fork, or damage before; it agrees (here complete) or ends early otherwise
        await this.settle(chunk - 1, before, await this.held(chunk - 1));
        throw damaged;
      }
    }
  }

  /** What we hold of chunk `chunk`, which begins at or before our head. */
  private async held(chunk: number): Promise<Held> {
    const { journal, index } = this.o.calendar;
    const start = index.chunkStart(chunk);
    if (!start) return { bytes: NOTHING_HELD, previous: journal.head.chainHash };
    const end = index.chunkStart(chunk + 1) ?? journal.headPosition;
    return {
      bytes: await journal.readRecordBytes(start, end),
      previous: await journal.chainHashBefore(start),
    };
  }

  /**
   * Follows until `signal` aborts: syncs, then waits for more. A failure is told to `onError` with the
   * wait before the next attempt (backoff, at most a minute): transport failures, and data refused
   * (MirrorIntegrityError). A fork ends it with MirrorForkError.
   */
  async run(signal: AbortSignal, onError: (error: Error, retryMs: number) => void = () => {}): Promise<void> {
    this.source.signal = signal;
    let backoff = FIRST_RETRY_MS;
    while (!signal.aborted) {
      try {
        await this.syncOnce();
        backoff = FIRST_RETRY_MS;
        const asked = Date.now();
        const held = this.o.calendar.journal.head.records;
        const { records } = await this.head(held);
        const early = MIN_POLL_MS - (Date.now() - asked);
        if (records <= held && early > 0) await sleep(early, undefined, { signal }).catch(() => undefined);
      } catch (e) {
        if (e instanceof MirrorForkError) throw e;
        if (signal.aborted) return;
        onError(e as Error, backoff);
        await sleep(backoff, undefined, { signal }).catch(() => undefined);
        backoff = Math.min(MAX_RETRY_MS, backoff * 2);
      }
    }
  }
}
