/**
 * The journal: the calendar's source of truth. An append-only, hash-chained sequence of records in
 * segment files, written with group commit (one fsync for every record that arrives while the
 * previous write is in flight). See docs/journal-format.md.
 * @module
 */

import { join } from 'node:path';
import { concatBytes, toHex } from '../ots/index.js';
import { type JournalFile, type JournalFiles, nodeFiles, readFileRange, writeAll } from './files.js';
import {
  CHAIN_HASH_BYTES,
  chainHash,
  frameRecord,
  type JournalRecord,
  LENGTH_BYTES,
  MAX_RECORD_LENGTH,
  type RecordPosition,
} from './record.js';
import { JournalCorruptError, type JournalLogger, recoverJournal } from './recovery.js';
import { type ScannedRecord, scanRecords } from './scan.js';
import { SEGMENT_HEADER_BYTES, segmentFileName } from './segment.js';
import { createSegment, type SegmentState } from './segment-files.js';

export { JournalCorruptError, type JournalLogger } from './recovery.js';

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
  /** The file operations; node:fs unless a test simulates power cuts. */
  files?: JournalFiles;
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

interface PendingAppend {
  kind: number;
  framed: Uint8Array;
  resolve: (record: StoredRecord) => void;
  reject: (error: Error) => void;
}

const DEFAULT_MAX_SEGMENT_BYTES = 64 * 1024 * 1024;
const quietLog: JournalLogger = { info() {}, warn() {}, error() {} };

export class Journal {
  readonly dir: string;
  private readonly maxSegmentBytes: number;
  private readonly files: JournalFiles;
  private readonly log: JournalLogger;
  private readonly segments: SegmentState[];
  private file: JournalFile;
  private currentHead: JournalHead;
  private readonly queue: PendingAppend[] = [];
  private flushing: Promise<void> | undefined;
  private failure: Error | undefined;
  private closed = false;
  private readonly listeners: AppendListener[] = [];
  private reportFailure: (error: Error) => void = () => {};
  /**
   * Resolves with the reason once the journal takes no more appends: a write failed, or a listener
   * could not take durable records and did not catch up. A restart recovers; the daemon exits for it.
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
    this.files = files;
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
    return readFileRange(
      this.files,
      join(this.dir, segmentFileName(segment.first)),
      position.offset - CHAIN_HASH_BYTES,
      position.offset,
    );
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
      if (end > start)
        parts.push(
          await readFileRange(this.files, join(this.dir, segmentFileName(segment.first)), start, end),
        );
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
    const framed = frameRecord(kind, payload);
    return new Promise((resolve, reject) => {
      this.queue.push({ kind, framed, resolve, reject });
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
        // the file may now end in a partial record, never acknowledged: a restart cuts it off
        this.stop(new Error(`journal: write failed: ${(e as Error).message}`), batch);
        break;
      }
      const behind = this.notify(written);
      const failure = behind.length > 0 ? await this.catchUp(behind, written) : undefined;
      if (failure) {
        this.stop(failure, batch);
        break;
      }
      for (const [i, entry] of batch.entries()) entry.resolve(written[i] as StoredRecord);
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

  /** Lets each listener that threw catch up from the journal; returns why the journal must stop, if one cannot. */
  private async catchUp(behind: Behind[], records: StoredRecord[]): Promise<Error | undefined> {
    const range = `records ${records[0]?.number}..${records.at(-1)?.number}`;
    for (const { listener, error } of behind) {
      const reason = error instanceof Error ? error.message : String(error);
      this.log.error({ records: range, error: reason }, 'journal: a listener could not take durable records');
      try {
        if (!listener.catchUp) throw new Error('it has no way to catch up');
        await listener.catchUp();
      } catch (e) {
        return new Error(
          `journal: ${range} are durable, but a listener could not take them (${reason}) nor catch up (${(e as Error).message})`,
        );
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

  private async writeBatch(batch: PendingAppend[]): Promise<StoredRecord[]> {
    let total = 0;
    for (const entry of batch) total += entry.framed.byteLength + CHAIN_HASH_BYTES;
    let segment = this.segments[this.segments.length - 1] as SegmentState;
    if (segment.size + total > this.maxSegmentBytes && segment.size > SEGMENT_HEADER_BYTES) {
      segment = await this.startSegment();
    }
    const buffer = new Uint8Array(total);
    const records: StoredRecord[] = [];
    let previous = this.currentHead.chainHash;
    let number = this.currentHead.records;
    let at = 0;
    for (const entry of batch) {
      const hash = chainHash(previous, entry.framed);
      buffer.set(entry.framed, at);
      buffer.set(hash, at + entry.framed.byteLength);
      const size = entry.framed.byteLength + CHAIN_HASH_BYTES;
      records.push({
        number,
        kind: entry.kind,
        payload: entry.framed.subarray(LENGTH_BYTES + 1),
        chainHash: hash,
        segment: segment.first,
        offset: segment.size + at,
        size,
      });
      previous = hash;
      number++;
      at += size;
    }
    await writeAll(this.file, buffer);
    await this.file.datasync();
    segment.size += total;
    this.currentHead = { records: number, chainHash: previous };
    return records;
  }

  private async startSegment(): Promise<SegmentState> {
    await this.file.close();
    const segment: SegmentState = {
      first: this.currentHead.records,
      previousChainHash: this.currentHead.chainHash,
      size: 0,
    };
    await createSegment(this.files, this.dir, segment);
    segment.size = SEGMENT_HEADER_BYTES;
    this.segments.push(segment);
    this.file = await this.files.open(join(this.dir, segmentFileName(segment.first)), 'a');
    return segment;
  }

  /**
   * The durable records from `from` (a record number, or a cursor to resume without scanning) up to
   * the head as it is when reading starts. Every chain hash is checked on the way.
   */
  async *read(from: number | ReadCursor = 0): AsyncGenerator<StoredRecord> {
    const limit = this.currentHead.records;
    const startNumber = typeof from === 'number' ? from : from.number;
    if (startNumber >= limit) return;
    let index = this.segments.findLastIndex((s) => s.first <= startNumber);
    let cursor: ReadCursor | undefined = typeof from === 'number' ? undefined : from;
    for (; index < this.segments.length; index++) {
      const segment = this.segments[index] as SegmentState;
      const path = join(this.dir, segmentFileName(segment.first));
      const startOffset = cursor?.segment === segment.first ? cursor.offset : SEGMENT_HEADER_BYTES;
      const bytes = await readFileRange(this.files, path, startOffset, segment.size);
      const start =
        cursor?.segment === segment.first
          ? { offset: startOffset, number: cursor.number, previousChainHash: cursor.previousChainHash }
          : {
              offset: SEGMENT_HEADER_BYTES,
              number: segment.first,
              previousChainHash: segment.previousChainHash,
            };
      cursor = undefined;
      const scan = scanRecords(bytes, start, startOffset);
      for (;;) {
        const step = scan.next();
        if (step.done) {
          if (step.value.kind !== 'end') {
            throw new JournalCorruptError(
              `journal ${path}: record ${step.value.number} at offset ${step.value.offset}: ${step.value.reason}`,
            );
          }
          break;
        }
        if (step.value.number >= limit) return;
        if (step.value.number >= startNumber) yield { ...step.value, segment: segment.first };
      }
    }
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

  /** Waits for writes in flight, then closes the file. Later appends are refused. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flushing;
    await this.file.close();
  }
}
