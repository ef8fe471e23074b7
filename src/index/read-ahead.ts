/**
 * Reading the journal in another thread while an index catches up (a rebuild, a long way behind): that
 * thread reads the segments, checks every chain hash and builds the merkle tree of each proof
 * (read-ahead-worker.ts), which is half the work of applying a record; this one writes the index. On
 * two cores a rebuild takes about half the time again. The records come across as their bytes, handed
 * over whole, and offsets: no object is copied between the threads.
 * @module
 */
import { Worker } from 'node:worker_threads';
import type { StoredRecord } from '../journal/journal.js';
import { MerkleLevels, NODE_BYTES } from '../journal/merkle-levels.js';
import type { ReadPlan } from '../journal/read-spans.js';
import { JournalCorruptError } from '../journal/recovery.js';
import { recordAt } from '../journal/scan.js';

/** What the reading thread is given. */
export interface ReadAheadStart {
  plan: ReadPlan;
  /** Records in a batch. */
  most: number;
  /** Batches it may read before the first is taken. */
  ahead: number;
  /** Records back from the last read whose commitments it keeps for proofs' trees (the index builds the others). */
  keptRecords: number;
}

/** What the reading thread sends. */
export type ReadAheadMessage =
  | {
      kind: 'batch';
      segment: number;
      /** Number of the first record. */
      first: number;
      /** Segment offset of each record, then of the end of the last. */
      offsets: Float64Array;
      /** The records, from the first one's offset. */
      bytes: Uint8Array;
      /** (proof record, leaves, nodes) of each tree built, its nodes in `treeBytes`, one after another. */
      trees: Float64Array;
      treeBytes: Uint8Array;
    }
  | { kind: 'end' }
  | { kind: 'failed'; name: string; message: string };

/** Records read together, and the trees of proofs among them the reading thread built. */
export interface ReadAheadBatch {
  records: StoredRecord[];
  trees: Map<number, MerkleLevels>;
}

export interface ReadAheadOptions {
  /** Records in a batch. */
  most: number;
  /** Batches read before the first is taken (default 2). */
  ahead?: number;
  /** Records back from the last read whose commitments are kept for proofs' trees (default four batches). */
  keptRecords?: number;
}

const WORKER = new URL('./read-ahead-worker.js', import.meta.url);

/**
 * The records of `plan` (Journal.readPlan) in batches, as Journal.readBatches reads them, each with
 * the trees built of its proofs: a record failing its chain check ends it with JournalCorruptError
 * after the records before it. The thread ends with the generator, however it ends.
 */
export async function* readAhead(plan: ReadPlan, options: ReadAheadOptions): AsyncGenerator<ReadAheadBatch> {
  const start: ReadAheadStart = {
    plan,
    most: options.most,
    ahead: Math.max(1, options.ahead ?? 2),
    keptRecords: Math.max(1, options.keptRecords ?? 4 * options.most),
  };
  const worker = new Worker(WORKER, { workerData: start });
  const arrived: (
    | ReadAheadMessage
    | { kind: 'thread-error'; error: Error }
    | { kind: 'exit'; code: number }
  )[] = [];
  let wake: (() => void) | undefined;
  const arrive = (message: (typeof arrived)[number]) => {
    arrived.push(message);
    wake?.();
  };
  worker.on('message', arrive);
  worker.on('error', (error) => arrive({ kind: 'thread-error', error }));
  worker.on('exit', (code) => arrive({ kind: 'exit', code }));
  try {
    for (;;) {
      while (arrived.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      const message = arrived.shift() as (typeof arrived)[number];
      switch (message.kind) {
        case 'batch':
          worker.postMessage('more');
          yield batchOf(message);
          break;
        case 'end':
          return;
        case 'failed':
          throw message.name === 'JournalCorruptError'
            ? new JournalCorruptError(message.message)
            : new Error(`journal read-ahead: ${message.message}`);
        case 'thread-error':
          throw new Error(`journal read-ahead: its thread failed: ${message.error.message}`, {
            cause: message.error,
          });
        case 'exit':
          throw new Error(`journal read-ahead: its thread exited (code ${message.code}) before the end`);
      }
    }
  } finally {
    worker.removeAllListeners();
    await worker.terminate();
  }
}

/** The records and trees of a batch as sent: views of its bytes. */
function batchOf(message: Extract<ReadAheadMessage, { kind: 'batch' }>): ReadAheadBatch {
  const { offsets, bytes, segment, first } = message;
  const base = offsets[0] as number;
  const records: StoredRecord[] = [];
  for (let i = 0; i + 1 < offsets.length; i++) {
    const offset = offsets[i] as number;
    const record = recordAt(bytes, offset - base, (offsets[i + 1] as number) - offset, first + i, offset);
    records.push(Object.assign(record, { segment }));
  }
  const trees = new Map<number, MerkleLevels>();
  const treeBytes = Buffer.from(
    message.treeBytes.buffer,
    message.treeBytes.byteOffset,
    message.treeBytes.byteLength,
  );
  for (let i = 0, at = 0; i < message.trees.length; i += 3) {
    const length = (message.trees[i + 2] as number) * NODE_BYTES;
    const tree = MerkleLevels.fromNodes(message.trees[i + 1] as number, treeBytes.subarray(at, at + length));
    trees.set(message.trees[i] as number, tree);
    at += length;
  }
  return { records, trees };
}
