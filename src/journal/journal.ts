/**
 * The journal: the calendar's source of truth. An append-only, hash-chained sequence of records in
 * segment files, written with group commit (one fsync for every record that arrives while the
 * previous write is in flight). See docs/journal-format.md.
 * @module
 */

import { join } from 'node:path';
import { concatBytes, equalBytes, toHex } from '../ots/index.js';
import { type JournalFile, type JournalFiles, nodeFiles, writeAll } from './files.js';
import {
  DEFAULT_RETRY_DELAYS,
  isStorageError,
  type JournalOutage,
  JournalUnavailableError,
  type RetryDelays,
  retryDelay,
} from './outage.js';
import { type ReadPlan, readSpans } from './read-spans.js';
import {
  CHAIN_HASH_BYTES,
  chainHash,
  checkPayloadBytes,
  framedLength,
  frameRecord,
  type JournalRecord,
  LENGTH_BYTES,
  MAX_RECORD_LENGTH,
  type RecordPosition,
} from './record.js';
import { JournalCorruptError, type JournalLogger, quietLog, recoverJournal } from './recovery.js';
import { recordAt, type ScannedRecord } from './scan.js';
import { SEGMENT_HEADER_BYTES, segmentFileName } from './segment.js';
import { createSegment, type SegmentState } from './segment-files.js';
import { SegmentReaders } from './segment-readers.js';

export { type JournalOutage, JournalUnavailableError } from './outage.js';
export { JournalCorruptError, type JournalLogger, quietLog } from './recovery.js';

export interface JournalOptions {
  /** Directory holding the segment files. */
  dir: string;
  /** Create the directory and the first segment when there is no journal yet. */
  create?: boolean;
  /** A segment is closed and a new one started once it would grow past this. Default 64 MiB. */
  maxSegmentBytes?: number;
  log?: JournalLogger;
  /**
   * How many records may have been acknowledged: the index's applied position. On open, damage in a
   * later record of the last segment (a power cut during a group commit) is cut off, and damage in one
   * of these refuses to start. Without it only a torn last record is cut off.
   */
  acknowledgedRecords?: number;
  /** Set aside the segments after a missing one instead of refusing (`otsd reindex --accept-loss`). */
  setAsideAfterGap?: boolean;
  /** The file operations; node:fs unless a test simulates power cuts or a full disk. */
  files?: JournalFiles;
  /** The waits between attempts to write again after a storage fault (see outage.ts). */
  retryDelays?: RetryDelays;
}

export interface JournalHead {
  /** Number of durable records: the next record gets this number. */
  records: number;
  /** Chain hash of the last record (zeros when there is none). */
  chainHash: Uint8Array;
}

/** A record in the journal with where it is stored. */
export interface StoredRecord extends ScannedRecord {
  segment: number;
}

/** Where to resume reading: the record number, its position and the chain hash before it. */
export interface ReadCursor extends RecordPosition {
  previousChainHash: Uint8Array;
}

interface AppendListener {
  take: (records: StoredRecord[]) => void;
  catchUp: (() => Promise<void>) | undefined;
}

/** A listener that threw while taking a batch, and what it threw. */
interface Behind {
  listener: AppendListener;
  error: unknown;
}

/** Why a batch could not be acknowledged, and whether waiting can mend it. */
interface BatchFailure {
  error: Error;
  /** A storage fault (outage.ts): the journal retries. Otherwise it stops. */
  storage: boolean;
}

/** An outage in progress: what it is, and how the journal tries to end it. */
interface Outage extends JournalOutage {
  error: JournalUnavailableError;
  /** One attempt to end it; throws while the fault lasts. */
  repair: () => Promise<void>;
  /** Whether a failed attempt is still worth retrying (else the journal stops). */
  retriable: (error: unknown) => boolean;
  timer: NodeJS.Timeout | undefined;
  attempt: Promise<void> | undefined;
}

/**
 * Records framed and chained elsewhere (a mirror copying records it verified), as they lie in an
 * upstream chunk: whole records back to back, each its framed bytes then its chain hash, the first
 * following the chain hash `after`.
 */
export interface ChainedRecords {
  bytes: Uint8Array;
  after: Uint8Array;
}

/** An append waiting for the next write: one record (append), or records chained elsewhere (appendChained). */
type PendingAppend =
  | {
      framed: Uint8Array;
      resolve: (record: StoredRecord) => void;
      reject: (error: Error) => void;
    }
  | {
      /** `records` records, as appendChained checked them. */
      chained: ChainedRecords & { records: number };
      resolve: (records: StoredRecord[]) => void;
      reject: (error: Error) => void;
    };

const DEFAULT_MAX_SEGMENT_BYTES = 64 * 1024 * 1024;
/**
 * Records in one array of readBatches unless the caller asks for more: enough that the wait per
 * array costs little, few enough that a reader stopping early (a chunk's check) scans little past it.
 */
const READ_BATCH_RECORDS = 256;
/**
 * After a failed write the journal writes this many bytes past its durable end, syncs and cuts them
 * off again before it takes appends: room for a few batches, not just the one that fits a page.
 */
const PROBE_BYTES = 64 * 1024;

export class Journal {
  readonly dir: string;
  private readonly maxSegmentBytes: number;
  private readonly files: JournalFiles;
  /** The segments mirrors' chunks, and the full check's, are read from, kept open (readRecordBytes, chainHashBefore). */
  private readonly readers: SegmentReaders;
  private readonly log: JournalLogger;
  private readonly segments: SegmentState[];
  private file: JournalFile;
  private currentHead: JournalHead;
  private readonly queue: PendingAppend[] = [];
  private flushing: Promise<void> | undefined;
  private failure: Error | undefined;
  private outage: Outage | undefined;
  private readonly retryDelays: RetryDelays;
  private readonly outageListeners: ((outage: JournalOutage | undefined) => void)[] = [];
  private closed = false;
  private readonly listeners: AppendListener[] = [];
  private reportFailure: (error: Error) => void = () => {};
  /**
   * Resolves with the reason once the journal takes no more appends: a listener could not take durable
   * records and could not catch up, for a reason other than a storage fault (the index disagrees with
   * the journal). A restart recovers; the daemon exits for it. Storage faults are waited out instead
   * (`outage`).
   */
  readonly failed = new Promise<Error>((resolve) => {
    this.reportFailure = resolve;
  });

  private constructor(
    options: JournalOptions,
    files: JournalFiles,
    log: JournalLogger,
    segments: SegmentState[],
    file: JournalFile,
    head: JournalHead,
  ) {
    this.dir = options.dir;
    this.maxSegmentBytes = options.maxSegmentBytes ?? DEFAULT_MAX_SEGMENT_BYTES;
    this.retryDelays = options.retryDelays ?? DEFAULT_RETRY_DELAYS;
    this.files = files;
    this.readers = new SegmentReaders(files, options.dir);
    this.log = log;
    this.segments = segments;
    this.file = file;
    this.currentHead = head;
  }

  /**
   * Opens the journal, repairing what a crash can leave (see recovery.ts); throws JournalCorruptError
   * on anything else wrong.
   */
  static async open(options: JournalOptions): Promise<Journal> {
    const files = options.files ?? nodeFiles;
    const log = options.log ?? quietLog;
    const { segments, head } = await recoverJournal({
      dir: options.dir,
      files,
      log,
      create: options.create ?? false,
      acknowledgedRecords: options.acknowledgedRecords,
      ...(options.setAsideAfterGap && { setAsideAfterGap: true }),
    });
    log.info(
      { records: head.records, chainHash: toHex(head.chainHash), segments: segments.length },
      'journal: opened',
    );
    const last = segments.at(-1) as SegmentState;
    const file = await files.open(join(options.dir, segmentFileName(last.first)), 'a');
    return new Journal(options, files, log, segments, file, head);
  }

  /** The durable head: what every reader may see. */
  get head(): JournalHead {
    return this.currentHead;
  }

  /** Bytes in all segment files. */
  get storedBytes(): number {
    return this.segments.reduce((sum, s) => sum + s.size, 0);
  }

  /** Where the next record will start: the end of the durable records. */
  get headPosition(): { segment: number; offset: number } {
    const last = this.segments[this.segments.length - 1] as SegmentState;
    return { segment: last.first, offset: last.size };
  }

  /** The chain hash of the record that ends where `position` starts (the segment header's, at its start). */
  async chainHashBefore(position: { segment: number; offset: number }): Promise<Uint8Array> {
    const segment = this.segments.find((s) => s.first === position.segment);
    if (!segment) throw new Error(`journal: no segment ${position.segment}`);
    if (position.offset <= SEGMENT_HEADER_BYTES) return segment.previousChainHash;
    return this.readers.read(segment.first, position.offset - CHAIN_HASH_BYTES, position.offset);
  }

  /**
   * The stored bytes of the records from position `from` up to (not including) position `to`, across
   * segment files (their headers left out): whole records, exactly as written, for mirrors.
   */
  async readRecordBytes(
    from: { segment: number; offset: number },
    to: { segment: number; offset: number },
  ): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    for (const segment of this.segments) {
      if (segment.first < from.segment || segment.first > to.segment) continue;
      const start = segment.first === from.segment ? from.offset : SEGMENT_HEADER_BYTES;
      const end = segment.first === to.segment ? to.offset : segment.size;
      if (end > start) parts.push(await this.readers.read(segment.first, start, end));
    }
    return parts.length === 1 ? (parts[0] as Uint8Array) : concatBytes(...parts);
  }

  /**
   * Calls `listener`, in journal order, with each batch of records once it is durable, before the
   * batch's appends resolve. When it throws, the journal awaits `catchUp` (which brings the listener
   * up to the journal's head, reading the records back) before it resolves the batch or writes the next
   * one; without `catchUp`, or when that fails too, the journal stops (see `failed`). The other
   * listeners are told of the batch either way.
   */
  onAppend(listener: (records: StoredRecord[]) => void, catchUp?: () => Promise<void>): void {
    this.listeners.push({ take: listener, catchUp });
  }

  /** Appends one record; resolves once it is on disk (fsync), with its number and position. */
  append(kind: number, payload: Uint8Array): Promise<StoredRecord> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new Error('journal: closed'));
    if (this.outage) return Promise.reject(this.outage.error);
    const framed = frameRecord(kind, payload);
    return new Promise((resolve, reject) => {
      this.queue.push({ framed, resolve, reject });
      this.flushing ??= this.flush();
    });
  }

  /**
   * Appends records framed and chained elsewhere, in one group, stored byte for byte (one copy, no
   * hash): for a mirror, which checked on the way in that each chain hash is sha256(after || framed),
   * from this journal's head on. Each run's framing is checked first, and a payload the journal would
   * refuse refuses them all. A run whose `after` is not the chain hash before it here (something else
   * was appended meanwhile) is chained anew: the caller compares the chain hashes the records got.
   * The runs' bytes must not change until the promise settles.
   */
  async appendChained(runs: readonly ChainedRecords[]): Promise<StoredRecord[]> {
    if (this.failure) throw this.failure;
    if (this.closed) throw new Error('journal: closed');
    if (this.outage) throw this.outage.error;
    const counted = runs.map((run, i) => ({ ...run, records: countChainedRecords(run, i) }));
    const total = counted.reduce((sum, run) => sum + run.records, 0);
    if (total === 0) return [];
    // one promise for the group, not one a run
    return new Promise((resolve, reject) => {
      const written: StoredRecord[] = [];
      const take = (records: StoredRecord[]) => {
        for (const record of records) written.push(record);
        if (written.length === total) resolve(written);
      };
      for (const chained of counted) {
        if (chained.records > 0) this.queue.push({ chained, resolve: take, reject });
      }
      this.flushing ??= this.flush();
    });
  }

  /**
   * Writes batches until the queue is empty. `flushing` is cleared in the same tick as the last
   * append resolves, so an append made in reaction to it starts a new flush.
   */
  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0);
      let written: StoredRecord[];
      try {
        written = await this.writeBatch(batch);
      } catch (e) {
        // the file may now end in part of the batch, never acknowledged: cut off before the next write
        this.suspend(
          `a write failed: ${(e as Error).message}`,
          batch,
          () => this.restoreFile(),
          () => true,
        );
        break;
      }
      const behind = this.notify(written);
      const failure = behind.length > 0 ? await this.catchUp(behind, written) : undefined;
      if (failure?.storage) {
        // the records are durable; they are acknowledged to no one, and the listeners take them later
        const catchUpAgain = async () => {
          for (const { listener } of behind) await (listener.catchUp as () => Promise<void>)();
        };
        this.suspend(failure.error.message, batch, catchUpAgain, isStorageError);
        break;
      }
      if (failure) {
        this.stop(failure.error, batch);
        break;
      }
      let next = 0;
      for (const entry of batch) {
        if ('chained' in entry) {
          entry.resolve(written.slice(next, next + entry.chained.records));
          next += entry.chained.records;
        } else entry.resolve(written[next++] as StoredRecord);
      }
    }
    this.flushing = undefined;
  }

  /** Tells every listener of a durable batch; returns those that threw, with what they threw. */
  private notify(records: StoredRecord[]): Behind[] {
    const behind: Behind[] = [];
    for (const listener of this.listeners) {
      try {
        listener.take(records);
      } catch (error) {
        behind.push({ listener, error });
      }
    }
    return behind;
  }

  /** Lets each listener that threw catch up from the journal; returns why the batch cannot be acknowledged, if one cannot. */
  private async catchUp(behind: Behind[], records: StoredRecord[]): Promise<BatchFailure | undefined> {
    const range = `records ${records[0]?.number}..${records.at(-1)?.number}`;
    for (const { listener, error } of behind) {
      const reason = error instanceof Error ? error.message : String(error);
      this.log.error({ records: range, error: reason }, 'journal: a listener could not take durable records');
      try {
        if (!listener.catchUp) throw new Error('it has no way to catch up');
        await listener.catchUp();
      } catch (e) {
        return {
          error: new Error(
            `journal: ${range} are durable, but a listener could not take them (${reason}) nor catch up (${(e as Error).message})`,
            { cause: e },
          ),
          storage: listener.catchUp !== undefined && isStorageError(e),
        };
      }
      this.log.info({ records: range }, 'journal: the listener caught up from the journal');
    }
    return undefined;
  }

  /** Refuses this batch, the appends waiting and every later one: only a restart mends what failed. */
  private stop(failure: Error, batch: PendingAppend[]): void {
    this.failure = failure;
    for (const entry of [...batch, ...this.queue.splice(0)]) entry.reject(failure);
    this.log.error({ error: failure.message }, 'journal: stopped taking appends; restart otsd');
    this.reportFailure(failure);
  }

  /** Why appends are refused for now (a storage fault the journal waits out), or undefined. */
  get unavailable(): JournalOutage | undefined {
    return (
      this.outage && { reason: this.outage.reason, since: this.outage.since, retries: this.outage.retries }
    );
  }

  /** Calls `listener` when an outage begins (with it) and when it ends (with undefined). */
  onOutage(listener: (outage: JournalOutage | undefined) => void): void {
    this.outageListeners.push(listener);
  }

  /**
   * Refuses this batch and the appends waiting, and every later one until `repair` succeeds: it is
   * tried with backoff. A failure `retriable` rejects stops the journal for good.
   */
  private suspend(
    reason: string,
    batch: PendingAppend[],
    repair: () => Promise<void>,
    retriable: (error: unknown) => boolean,
  ): void {
    const since = Date.now();
    const error = new JournalUnavailableError(
      `journal: not taking appends since ${new Date(since).toISOString()}, retrying: ${reason}`,
    );
    this.outage = {
      reason,
      since,
      retries: 0,
      error,
      repair,
      retriable,
      timer: undefined,
      attempt: undefined,
    };
    for (const entry of [...batch, ...this.queue.splice(0)]) entry.reject(error);
    this.log.error({ reason }, 'journal: not taking appends until a write succeeds again; retrying');
    this.scheduleRepair();
    for (const listener of this.outageListeners) listener(this.unavailable);
  }

  private scheduleRepair(): void {
    const outage = this.outage as Outage;
    outage.timer = setTimeout(
      () => {
        outage.timer = undefined;
        outage.attempt = this.attemptRepair(outage);
      },
      retryDelay(this.retryDelays, outage.retries),
    );
  }

  private async attemptRepair(outage: Outage): Promise<void> {
    try {
      await outage.repair();
    } catch (e) {
      outage.attempt = undefined;
      if (this.closed) return;
      if (!outage.retriable(e)) {
        this.outage = undefined;
        this.stop(new Error(`${outage.reason}; then: ${(e as Error).message}`), []);
        return;
      }
      const reason = (e as Error).message;
      if (outage.retries === 0 || reason !== outage.reason) {
        this.log.warn({ reason, retries: outage.retries + 1 }, 'journal: still cannot write; retrying');
      }
      outage.retries++;
      outage.reason = reason;
      this.scheduleRepair();
      return;
    }
    outage.attempt = undefined;
    this.outage = undefined;
    this.log.info(
      { seconds: Math.round((Date.now() - outage.since) / 1000), retries: outage.retries + 1 },
      'journal: writing again; taking appends',
    );
    for (const listener of this.outageListeners) listener(undefined);
  }

  /**
   * After a failed write: a fresh handle (the failed one is not trusted), the last segment cut back to
   * its durable records, a segment begun for the next record and never taken on removed, and proof
   * that the file takes a write and a sync again (bytes written past the end, synced and cut off; a
   * crash meanwhile leaves zeros past the last record, which opening cuts off as a torn record).
   */
  private async restoreFile(): Promise<void> {
    const segment = this.segments[this.segments.length - 1] as SegmentState;
    await this.file.close().catch(() => undefined);
    // a segment begun and removed below may be begun again: a reader kept on it would read the removed file
    await this.readers.close();
    this.file = await this.files.open(join(this.dir, segmentFileName(segment.first)), 'a');
    if (segment.first !== this.currentHead.records) {
      const begun = join(this.dir, segmentFileName(this.currentHead.records));
      const removed = await this.files.unlink(begun).then(
        () => true,
        (e: { code?: string }) => {
          if (e.code === 'ENOENT') return false;
          throw e;
        },
      );
      if (removed) await this.files.syncDirectory(this.dir);
    }
    await this.file.truncate(segment.size);
    await writeAll(this.file, new Uint8Array(PROBE_BYTES));
    await this.file.datasync();
    await this.file.truncate(segment.size);
    await this.file.datasync();
  }

  private async writeBatch(batch: PendingAppend[]): Promise<StoredRecord[]> {
    let total = 0;
    for (const entry of batch) {
      total +=
        'chained' in entry ? entry.chained.bytes.byteLength : entry.framed.byteLength + CHAIN_HASH_BYTES;
    }
    let segment = this.segments[this.segments.length - 1] as SegmentState;
    if (segment.size + total > this.maxSegmentBytes && segment.size > SEGMENT_HEADER_BYTES) {
      segment = await this.startSegment();
    }
    // every record, chain hash and all, copied into one buffer the records are views of: a caller's
    // bytes may be a view of a whole downloaded chunk, or a buffer it reuses
    const buffer = new Uint8Array(total);
    const records: StoredRecord[] = [];
    let previous = this.currentHead.chainHash;
    let at = 0;
    const stored = (size: number) => {
      records.push(
        recordAt(
          buffer,
          at,
          size,
          this.currentHead.records + records.length,
          segment.size + at,
          segment.first,
        ),
      );
      at += size;
    };
    /** `framed`, chained after the record before it here. */
    const chainAnew = (framed: Uint8Array) => {
      buffer.set(framed, at);
      buffer.set(chainHash(previous, framed), at + framed.byteLength);
      previous = buffer.subarray(at + framed.byteLength, at + framed.byteLength + CHAIN_HASH_BYTES);
      stored(framed.byteLength + CHAIN_HASH_BYTES);
    };
    for (const entry of batch) {
      if (!('chained' in entry)) {
        chainAnew(entry.framed);
        continue;
      }
      const { bytes, after } = entry.chained;
      if (equalBytes(after, previous)) {
        // byte for byte: their chain hashes follow from ours
        buffer.set(bytes, at);
        for (let from = 0; from < bytes.byteLength; ) {
          const size = chainedRecordSize(bytes, from);
          from += size;
          stored(size);
        }
        previous = buffer.subarray(at - CHAIN_HASH_BYTES, at);
      } else {
        for (let from = 0; from < bytes.byteLength; ) {
          const size = chainedRecordSize(bytes, from);
          chainAnew(bytes.subarray(from, from + size - CHAIN_HASH_BYTES));
          from += size;
        }
      }
    }
    await writeAll(this.file, buffer);
    await this.file.datasync();
    segment.size += total;
    // a copy: a view would keep the batch (a mirror's group: megabytes) for as long as the head, or a
    // segment started after it, lasts
    this.currentHead = { records: this.currentHead.records + records.length, chainHash: previous.slice() };
    return records;
  }

  /** Begins a new segment for the next record; the current file stays open until the new one is. */
  private async startSegment(): Promise<SegmentState> {
    const segment: SegmentState = {
      first: this.currentHead.records,
      previousChainHash: this.currentHead.chainHash,
      size: 0,
    };
    await createSegment(this.files, this.dir, segment);
    const file = await this.files.open(join(this.dir, segmentFileName(segment.first)), 'a');
    await this.file.close();
    this.file = file;
    segment.size = SEGMENT_HEADER_BYTES;
    this.segments.push(segment);
    return segment;
  }

  /**
   * The durable records from `from` (a record number, or a cursor to resume without scanning) up to
   * the head as it is when reading starts. Every chain hash is checked on the way.
   */
  async *read(from: number | ReadCursor = 0): AsyncGenerator<StoredRecord> {
    for await (const batch of this.readBatches(from)) yield* batch;
  }

  /**
   * `read`, in arrays of at most `most` records: a segment's records are scanned at one go, where a
   * wait per record (an async generator's) would cost as much as checking its chain hash. The records
   * of a batch are views into their segment's bytes, held until the caller lets the batch go.
   */
  async *readBatches(
    from: number | ReadCursor = 0,
    most = READ_BATCH_RECORDS,
  ): AsyncGenerator<StoredRecord[]> {
    for await (const span of readSpans(this.readPlan(from), this.files, most)) yield span.records;
  }

  /**
   * What reading the durable records from `from` up to the head as it is now takes, for a reader
   * without this object (another thread): the segments as they are now.
   */
  readPlan(from: number | ReadCursor = 0): ReadPlan {
    return {
      dir: this.dir,
      segments: this.segments.map((s) => ({ ...s })),
      from,
      limit: this.currentHead.records,
    };
  }

  /** Whether the segment files are read through node:fs, as another thread would read them (no test layer). */
  get readsNodeFiles(): boolean {
    return this.files === nodeFiles;
  }

  /** The record stored at `position` (as the index recorded it), without checking its chain hash. */
  async readAt(position: RecordPosition): Promise<JournalRecord> {
    const handle = await this.files.open(join(this.dir, segmentFileName(position.segment)), 'r');
    try {
      const lengthBytes = new Uint8Array(LENGTH_BYTES);
      await handle.read(lengthBytes, 0, LENGTH_BYTES, position.offset);
      const length = new DataView(lengthBytes.buffer).getUint32(0);
      if (length === 0 || length > MAX_RECORD_LENGTH) {
        throw new JournalCorruptError(`journal: record ${position.number}: invalid length ${length}`);
      }
      const body = new Uint8Array(length + CHAIN_HASH_BYTES);
      const { bytesRead } = await handle.read(body, 0, body.byteLength, position.offset + LENGTH_BYTES);
      if (bytesRead !== body.byteLength)
        throw new JournalCorruptError(`journal: record ${position.number} cut short`);
      return {
        number: position.number,
        kind: body[0] as number,
        payload: body.subarray(1, length),
        chainHash: body.subarray(length),
      };
    } finally {
      await handle.close();
    }
  }

  /** Waits for writes in flight (and an attempt to end an outage), then closes the file. Later appends are refused. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flushing;
    clearTimeout(this.outage?.timer);
    await this.outage?.attempt;
    await this.readers.close();
    if (this.outage) await this.file.close().catch(() => undefined);
    else await this.file.close();
  }
}

/** The size of the chained record at `at` in `bytes` (its framing, already checked by countChainedRecords). */
function chainedRecordSize(bytes: Uint8Array, at: number): number {
  return LENGTH_BYTES + framedLength(bytes, at) + CHAIN_HASH_BYTES;
}

/**
 * How many whole records `run` (the `index`th of an appendChained call) holds; throws (RangeError) for a chain hash that is not 32 bytes, a
 * record whose framing runs past the run's end, or a payload the journal refuses (checkPayloadBytes).
 */
function countChainedRecords(run: ChainedRecords, index: number): number {
  if (run.after.byteLength !== CHAIN_HASH_BYTES)
    throw new RangeError(
      `journal record: the chain hash before chained run ${index} is ${run.after.byteLength} bytes, not ${CHAIN_HASH_BYTES}`,
    );
  const { bytes } = run;
  let records = 0;
  for (let at = 0; at < bytes.byteLength; records++) {
    const length = at + LENGTH_BYTES <= bytes.byteLength ? framedLength(bytes, at) : 0;
    const size = LENGTH_BYTES + length + CHAIN_HASH_BYTES;
    if (length < 1 || length > MAX_RECORD_LENGTH || at + size > bytes.byteLength)
      throw new RangeError(
        `journal record: the framing of record ${records} of chained run ${index} (at byte ${at} of ${bytes.byteLength}) does not match the bytes`,
      );
    checkPayloadBytes(bytes[at + LENGTH_BYTES] as number, length - 1);
    at += size;
  }
  return records;
}
