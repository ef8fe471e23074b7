/**
 * Reading the journal in another thread while an index catches up (a rebuild, a long way behind): that
 * thread reads the segments, checks every chain hash and builds the merkle tree of each proof
 * (read-ahead-worker.ts), some 40 % of the work of applying a record; this one writes the index. With
 * a second core free a rebuild runs some 1.3 times as fast (docs/operating.md, Sizing;
 * read-ahead-message.ts: what crosses between the threads).
 * @module
 */
import { Worker } from 'node:worker_threads';
import type { ReadPlan } from '../journal/read-spans.js';
import { JournalCorruptError } from '../journal/recovery.js';
import { ThreadFailedError, takeMessage, workerMessages } from '../journal/worker-messages.js';
import {
  batchOf,
  type ReadAheadBatch,
  type ReadAheadMessage,
  type ReadAheadStart,
} from './read-ahead-message.js';

export interface ReadAheadOptions {
  /** Records in a batch. */
  most: number;
  /** Records back from the last read whose commitments are kept for proofs' trees (default two batches). */
  keptRecords?: number;
  /** The thread's script (read-ahead-worker.js). Only a test gives another, to make it fail. */
  threadScript?: URL;
}

const WORKER = new URL('./read-ahead-worker.js', import.meta.url);
/** Batches sent and not yet taken, at most: one applied while the next is read is the whole gain. */
const AHEAD = 2;

/**
 * The records of `plan` (Journal.readPlan) in batches, as Journal.readBatches reads them, each with
 * the trees built of its proofs: a record failing its chain check ends it with JournalCorruptError
 * after the records before it. The thread ends with the generator, however it ends.
 */
export async function* readAhead(plan: ReadPlan, options: ReadAheadOptions): AsyncGenerator<ReadAheadBatch> {
  const start: ReadAheadStart = {
    plan,
    most: options.most,
    ahead: AHEAD,
    keptRecords: Math.max(1, options.keptRecords ?? 2 * options.most),
  };
  let worker: Worker;
  try {
    worker = new Worker(options.threadScript ?? WORKER, { workerData: start });
  } catch (e) {
    // e.g. a permission model without worker threads: the thread's failure, read on without it
    throw new ThreadFailedError(`journal read-ahead: no thread started: ${(e as Error).message}`, {
      cause: e,
    });
  }
  for await (const message of workerMessages<ReadAheadMessage>(worker, 'journal read-ahead')) {
    switch (message.kind) {
      case 'batch':
        takeMessage(worker);
        yield batchOf(message);
        break;
      case 'end':
        return;
      case 'failed':
        throw failure(message);
    }
  }
}

/**
 * The error the reading thread stopped at, as reading here would throw it: JournalCorruptError
 * itself, any other with its code (a storage error's, which callers tell apart by it).
 */
function failure(stopped: Extract<ReadAheadMessage, { kind: 'failed' }>): Error {
  if (stopped.name === 'JournalCorruptError') return new JournalCorruptError(stopped.message);
  const error = new Error(`journal read-ahead: ${stopped.message}`);
  return stopped.code === undefined ? error : Object.assign(error, { code: stopped.code });
}
