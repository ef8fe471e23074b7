/**
 * What the thread reading ahead of an index (read-ahead-worker.ts) and the thread writing it
 * (read-ahead.ts) say to each other: how it starts, and each batch as its records' bytes and offsets
 * plus its proofs' trees' nodes, two buffers handed over whole (no object copied between threads).
 * @module
 */
import type { StoredRecord } from '../journal/journal.js';
import type { MerkleLevels } from '../journal/merkle-levels.js';
import type { ReadPlan, RecordSpan } from '../journal/read-spans.js';
import { recordOffsets, recordsAt } from '../journal/scan.js';
import { type PackedTrees, packTrees, unpackTrees } from '../journal/tree-transfer.js';

/** What the reading thread is given. */
export interface ReadAheadStart {
  plan: ReadPlan;
  /** Records in a batch. */
  most: number;
  /** Batches it may send before the first is taken; each taken gives one more. */
  ahead: number;
  /** Records back from the last read whose commitments it keeps for proofs' trees (the index builds the others). */
  keptRecords: number;
}

export interface BatchMessage extends PackedTrees {
  kind: 'batch';
  segment: number;
  /** Number of the first record. */
  first: number;
  /** Segment offset of each record, then of the end of the last. */
  offsets: Float64Array;
  /** The records, from the first one's offset. */
  bytes: Uint8Array;
}

/** What the reading thread sends: batches, then the end, or why it stopped (an error's name, code, message). */
export type ReadAheadMessage =
  | BatchMessage
  | { kind: 'end' }
  | { kind: 'failed'; name: string; code: string | undefined; message: string };

/** Records read together, and the trees of proofs among them the reading thread built. */
export interface ReadAheadBatch {
  records: StoredRecord[];
  trees: Map<number, MerkleLevels>;
}

/** The message of `span`'s records (their bytes copied out of the segment's) and of `trees`. */
export function batchMessage(span: RecordSpan, trees: ReadonlyMap<number, MerkleLevels>): BatchMessage {
  const { records, base } = span;
  const first = records[0] as StoredRecord;
  const last = records.at(-1) as StoredRecord;
  return {
    kind: 'batch',
    segment: first.segment,
    first: first.number,
    offsets: recordOffsets(records),
    bytes: span.bytes.slice(first.offset - base, last.offset + last.size - base),
    ...packTrees(trees),
  };
}

/** The buffers a batch message hands over: the sender keeps no view of them. */
export function handedOver(message: BatchMessage): ArrayBuffer[] {
  return [message.bytes.buffer as ArrayBuffer, message.treeBytes.buffer as ArrayBuffer];
}

/** The records and trees of a batch message: views of its bytes. */
export function batchOf(message: BatchMessage): ReadAheadBatch {
  const { offsets, bytes, segment, first } = message;
  const records: StoredRecord[] = recordsAt(bytes, offsets, first, offsets[0] as number, segment);
  return { records, trees: unpackTrees(message) };
}
