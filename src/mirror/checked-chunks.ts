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
import { takeMessage, workerMessages } from '../journal/worker-messages.js';
import {
  type ChunkCheckMessage,
  type ChunkCheckStart,
  checkedChunkOf,
  sentBytes,
} from './chunk-check-message.js';
import { type HeldRecords, readChunks } from './chunk-reads.js';
import type { ChunkSource } from './chunk-source.js';

/** Chunks from which the checks run in another thread: its start costs some tens of milliseconds. */
const THREAD_CHUNKS = 16;
/**
 * Bytes of chunks and trees the thread may send before they are taken (and always one chunk): some
 * hundreds of a calendar's chunks, enough to keep it busy while this one writes a group.
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
}

const NO_TREES: ReadonlyMap<number, MerkleLevels> = new Map();

/** The chunks of `options` in order, ending early after one that does not continue the records before it. */
export async function* checkedChunks(options: CheckedChunksOptions): AsyncGenerator<CheckedChunk> {
  const { source, first, end, held } = options;
  if (end - first < THREAD_CHUNKS) {
    for await (const read of readChunks(source, first, end, held))
      yield { ...read, bodyChecked: undefined, trees: NO_TREES };
    return;
  }
  const start: ChunkCheckStart = {
    upstream: source.upstream,
    timeoutMs: source.timeoutMs,
    first,
    end,
    held,
    commitments: options.commitments,
    aheadBytes: THREAD_AHEAD_BYTES,
    keptRecords: KEPT_RECORDS,
  };
  const worker = new Worker(WORKER, { workerData: start });
  // the follower stops: the thread's downloads end with it, and so does the wait for its next chunk
  const stop = () => void worker.terminate();
  source.signal?.addEventListener('abort', stop);
  if (source.signal?.aborted) stop();
  try {
    for await (const message of workerMessages<ChunkCheckMessage>(worker, 'mirror: chunk checks')) {
      switch (message.kind) {
        case 'chunk':
          takeMessage(worker, sentBytes(message));
          yield checkedChunkOf(message);
          break;
        case 'end':
          return;
        case 'failed':
          throw new Error(message.message);
      }
    }
  } finally {
    source.signal?.removeEventListener('abort', stop);
  }
}
