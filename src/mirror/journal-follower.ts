/**
 * Follows a calendar's journal into a local one: downloads chunks from the local head onward (see
 * ChunkSource), checks every chain hash and every record (see verifyRecord), appends them, then
 * long-polls for the next records. A mirror runs it; a client can too, to keep its own verified copy
 * of a calendar.
 * @module
 */
import type { Calendar } from '../calendar/calendar.js';
import { CHUNK_RECORDS, parseChunk } from '../journal/chunk.js';
import { RecordKind } from '../journal/record.js';
import type { ScannedRecord } from '../journal/scan.js';
import { equalBytes, toHex } from '../ots/index.js';
import { ChunkSource, type UpstreamHead } from './chunk-source.js';
import type { HeaderCheck } from './header-check.js';
import { MirrorIntegrityError } from './integrity-error.js';
import { verifyRecord } from './verify-record.js';

/** Chunks downloaded at once while catching up: their records are appended in one group. */
const PREFETCH_CHUNKS = 8;

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

  /** The upstream head; with `after`, waits (long poll) until it has more than `after` records. */
  async head(after?: number): Promise<UpstreamHead> {
    this.lastUpstreamHead = await this.source.head(after, this.o.waitSeconds ?? 25);
    return this.lastUpstreamHead;
  }

  /** Downloads and appends everything up to the upstream's current head; returns how many records. */
  async syncOnce(): Promise<number> {
    const journal = this.o.calendar.journal;
    const upstream = await this.head();
    const startRecords = journal.head.records;
    if (upstream.records < startRecords) {
      throw new MirrorIntegrityError(
        `upstream has ${upstream.records} records, fewer than the ${startRecords} already mirrored`,
      );
    }
    if (upstream.records === startRecords && upstream.chainHash !== toHex(journal.head.chainHash)) {
      throw new MirrorIntegrityError(
        `upstream head ${upstream.chainHash} differs from ours at record ${startRecords - 1}: a fork`,
      );
    }
    while (journal.head.records < upstream.records) {
      const before = journal.head.records;
      await this.syncChunks(upstream.records);
      if (journal.head.records === before) {
        throw new MirrorIntegrityError(
          `upstream chunk ${Math.floor(before / CHUNK_RECORDS)} ends at record ${before - 1} although its head has ${upstream.records} records`,
        );
      }
      this.o.onProgress?.({ local: journal.head.records, upstream: upstream.records });
    }
    this.lastSyncAt = Date.now();
    return journal.head.records - startRecords;
  }

  /**
   * Downloads up to PREFETCH_CHUNKS chunks at once, verifies them in order and appends every record
   * that verified in one group (one fsync, one index transaction). A chunk that fails to download or
   * verify ends the batch: what verified before it is kept, then the error is thrown.
   */
  private async syncChunks(upstreamRecords: number): Promise<void> {
    const { journal, index } = this.o.calendar;
    const local = journal.head.records;
    const firstChunk = Math.floor(local / CHUNK_RECORDS);
    const count = Math.min(PREFETCH_CHUNKS, Math.ceil(upstreamRecords / CHUNK_RECORDS) - firstChunk);
    const downloads = Array.from({ length: count }, (_, i) => this.source.chunk(firstChunk + i));
    for (const download of downloads) download.catch(() => undefined);
    const start = index.chunkStart(firstChunk);
    let previous =
      firstChunk * CHUNK_RECORDS === local || !start
        ? journal.head.chainHash
        : await journal.chainHashBefore(start);
    this.heldCommitments ??= index.commitmentCount;
    const verified: ScannedRecord[] = [];
    const commitments = new Map<number, Uint8Array>();
    let failure: unknown;
    for (const [i, download] of downloads.entries()) {
      try {
        const fresh = await this.verifyChunk(firstChunk + i, await download, previous, commitments);
        verified.push(...fresh);
        previous = verified.at(-1)?.chainHash ?? previous;
      } catch (e) {
        failure = e;
        break;
      }
    }
    const written = await Promise.all(verified.map((r) => journal.append(r.kind, r.payload)));
    written.forEach((w, i) => {
      if (!equalBytes(w.chainHash, (verified[i] as ScannedRecord).chainHash)) {
        throw new MirrorIntegrityError(`record ${w.number}: appended with another chain hash`);
      }
    });
    this.heldCommitments += verified.filter((r) => r.kind === RecordKind.Commitment).length;
    if (failure !== undefined) throw failure;
  }

  /**
   * The records of `chunk` past what we hold (or will hold, once the records verified before it in
   * this batch are appended), each checked. `previous` is the chain hash before the chunk's first
   * record; `commitments` gathers the batch's commitments, not indexed yet.
   */
  private async verifyChunk(
    chunk: number,
    bytes: Uint8Array,
    previous: Uint8Array,
    commitments: Map<number, Uint8Array>,
  ): Promise<ScannedRecord[]> {
    const { journal, index, uri } = this.o.calendar;
    const first = chunk * CHUNK_RECORDS;
    const local = Math.max(journal.head.records, first);
    let records: ScannedRecord[];
    try {
      records = parseChunk(bytes, first, previous);
    } catch (e) {
      throw new MirrorIntegrityError(`upstream chunk ${chunk}: ${(e as Error).message}`);
    }
    if (records.length > CHUNK_RECORDS) {
      throw new MirrorIntegrityError(`upstream chunk ${chunk}: more than ${CHUNK_RECORDS} records`);
    }
    // records we hold already must be ours: the last one's chain hash covers all before it
    const overlap = records.find((r) => r.number === local - 1);
    if (local > first && (!overlap || !equalBytes(overlap.chainHash, journal.head.chainHash))) {
      throw new MirrorIntegrityError(
        `upstream record ${local - 1} differs from ours: a fork or a modified record`,
      );
    }
    const fresh = records.filter((r) => r.number >= local);
    for (const record of fresh) {
      await verifyRecord(record, {
        commitmentAt: (n) => commitments.get(n) ?? index.commitmentAt(n),
        commitments: (this.heldCommitments ?? 0) + commitments.size,
        calendarUri: uri,
        checkHeader: this.o.checkHeader,
      });
      if (record.kind === RecordKind.Commitment) commitments.set(record.number, record.payload);
    }
    return fresh;
  }

  /**
   * Follows until `signal` aborts: syncs, then waits for more. Transport failures are retried with
   * backoff (bounded at a minute); an integrity failure ends it with MirrorIntegrityError.
   */
  async run(signal: AbortSignal, onError: (error: Error) => void = () => {}): Promise<void> {
    this.source.signal = signal;
    let backoff = 500;
    while (!signal.aborted) {
      try {
        await this.syncOnce();
        backoff = 500;
        await this.head(this.o.calendar.journal.head.records);
      } catch (e) {
        if (e instanceof MirrorIntegrityError) throw e;
        if (signal.aborted) return;
        onError(e as Error);
        await new Promise((resolve) => setTimeout(resolve, backoff));
        backoff = Math.min(60_000, backoff * 2);
      }
    }
  }
}
