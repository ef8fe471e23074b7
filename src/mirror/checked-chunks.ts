/**
 * The chunks a follower syncs, downloaded and read in order (readChunks), and, when there are many,
 * checked ahead in another thread (chunk-check-worker.ts): the thread checks the body of every record
 * and builds its proofs' trees, some 40 % of the work of a record, while this one checks each against
 * what the mirror holds, appends and indexes.
 * @module
 */
import { Worker } from 'node:worker_threads';
import type { MerkleLevels } from '../journal/merkle-levels.js';
import type { ScannedRecord } from '../journal/scan.js';
import { ThreadFailedError, takeMessage, workerMessages } from '../journal/worker-messages.js';
import {
  type ChunkCheckMessage,
  type ChunkCheckStart,
  checkedChunkOf,
  sentBytes,
} from './chunk-check-message.js';
import { type HeldRecords, type NextRead, readAfter, readChunks } from './chunk-reads.js';
import type { ChunkSource } from './chunk-source.js';

/** Chunks from which the checks run in another thread: its start costs some tens of milliseconds. */
const THREAD_CHUNKS = 16;
/**
 * What the chunks the thread sent and this one has not taken may cost, in bytes (see sentBytes): some
 * hundreds of a calendar's chunks, enough to keep it busy while this one writes a group. One more
 * chunk may always be sent: at most 16 MiB past it, with its trees (CHUNK_TREE_BYTES).
 */
const THREAD_AHEAD_BYTES = 16 * 1024 * 1024;
/** Records back from the last checked whose commitments the thread keeps: a proof covers recent ones. */
const KEPT_RECORDS = 2 ** 17;

const WORKER = new URL('./chunk-check-worker.js', import.meta.url);

/** A chunk read (see ChunkRead), with what was checked of it ahead. */
export interface CheckedChunk {
  chunk: number;
  bytes: Uint8Array | undefined;
  previous: Uint8Array;
  fresh: ScannedRecord[] | undefined;
  /** 1 for each fresh record whose body checked out (checkRecordBody); none checked when undefined. */
  bodyChecked: Uint8Array | undefined;
  /** The trees of proofs among the fresh records whose bodies checked out, by proof record (some, or none). */
  trees: ReadonlyMap<number, MerkleLevels>;
}

export interface CheckedChunksOptions {
  /** Its signal, when it aborts, ends the thread (and its downloads) too. */
  source: ChunkSource;
  /** Chunks `first` up to (not including) `end`. */
  first: number;
  end: number;
  held: HeldRecords;
  /** Commitments before the first record not held. */
  commitments: number;
  /**
   * Told when the thread fails or exits before its end (not when it reports a download's failure):
   * the chunks after the last it sent are then read and checked here.
   */
  onThreadFailure?: (error: Error) => void;
  /** The thread's script: chunk-check-worker.js. Only a test gives another, to make it fail. */
  threadScript?: URL;
}

const NO_TREES: ReadonlyMap<number, MerkleLevels> = new Map();

/** The chunks of `options` in order, ending early after one that does not continue the records before it. */
export async function* checkedChunks(options: CheckedChunksOptions): AsyncGenerator<CheckedChunk> {
  const { source, first, end, held } = options;
  const worker = end - first < THREAD_CHUNKS ? undefined : startWorker(options);
  if (!worker) {
    yield* readHere(source, first, end, held);
    return;
  }
  // the follower stops: the thread's downloads end with it, and so does the wait for its next chunk
  const stop = () => void worker.terminate();
  source.signal?.addEventListener('abort', stop);
  if (source.signal?.aborted) stop();
  /** Where the chunks read here begin if the thread fails: after the last it sent. */
  let next: NextRead | undefined = { chunk: first, held };
  try {
    for await (const message of workerMessages<ChunkCheckMessage>(worker, 'mirror: chunk checks')) {
      switch (message.kind) {
        case 'chunk': {
          // chunks checked ahead wait: a stop takes none of them
          source.signal?.throwIfAborted();
          takeMessage(worker, sentBytes(message));
          const checked = checkedChunkOf(message);
          next = readAfter(checked);
          yield checked;
          break;
        }
        case 'end':
          return;
        case 'failed':
          throw new Error(message.message);
      }
    }
  } catch (e) {
    // the thread itself failed (a bug, its memory, a crash): not the chunks, which this thread reads
    // and checks as it does a short sync's
    if (!(e instanceof ThreadFailedError) || source.signal?.aborted) throw e;
    options.onThreadFailure?.(e);
  } finally {
    source.signal?.removeEventListener('abort', stop);
  }
  if (next) yield* readHere(source, next.chunk, end, next.held);
}

/** Chunks `first` up to `end`, read and left to the follower to check (see readChunks). */
async function* readHere(
  source: ChunkSource,
  first: number,
  end: number,
  held: HeldRecords,
): AsyncGenerator<CheckedChunk> {
  for await (const read of readChunks(source, first, end, held)) {
    source.signal?.throwIfAborted();
    yield { ...read, bodyChecked: undefined, trees: NO_TREES };
  }
}

/** The checking thread for `options`, or undefined where no thread can start (the chunks are checked here). */
function startWorker(options: CheckedChunksOptions): Worker | undefined {
  const start: ChunkCheckStart = {
    upstream: options.source.upstream,
    timeoutMs: options.source.timeoutMs,
    first: options.first,
    end: options.end,
    held: options.held,
    commitments: options.commitments,
    aheadBytes: THREAD_AHEAD_BYTES,
    keptRecords: KEPT_RECORDS,
  };
  try {
    return new Worker(options.threadScript ?? WORKER, { workerData: start });
  } catch {
    // e.g. a permission model without worker threads
    return undefined;
  }
}
