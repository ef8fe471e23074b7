/**
 * What the thread checking a mirror's chunks (chunk-check-worker.ts) and the follower
 * (checked-chunks.ts) say to each other: how it starts, and each chunk as its bytes, its fresh
 * records' offsets, which of them it checked, and the trees of their proofs (buffers handed over
 * whole, no object copied between threads).
 * @module
 */

import type { MerkleLevels } from '../journal/merkle-levels.js';
import { recordOffsets, recordsAt } from '../journal/scan.js';
import { type PackedTrees, packTrees, unpackTrees } from '../journal/tree-transfer.js';
import type { CheckedChunk } from './checked-chunks.js';
import type { ChunkRead, HeldRecords } from './chunk-reads.js';

/** What the checking thread is given. */
export interface ChunkCheckStart {
  upstream: string;
  timeoutMs: number | undefined;
  /** Chunks `first` up to (not including) `end`. */
  first: number;
  end: number;
  held: HeldRecords;
  /** Commitments before the first record not held. */
  commitments: number;
  /** Bytes of chunks and trees it may send before they are taken (SendCredit). */
  aheadBytes: number;
  /** Records back from the last read whose commitments it keeps for the checks of later records. */
  keptRecords: number;
}

export interface ChunkMessage extends PackedTrees {
  kind: 'chunk';
  chunk: number;
  /** Its bytes (empty when `missing`). */
  bytes: Uint8Array;
  missing: boolean;
  previous: Uint8Array;
  /** Whether it simply continues the records before it (ChunkRead.fresh): its fresh records follow. */
  continues: boolean;
  /** Number of the first fresh record. */
  first: number;
  /** Offset in `bytes` of each fresh record, then of the end of the last. */
  offsets: Float64Array;
  /** 1 for each fresh record whose body (checkRecordBody) checked out there. */
  bodyChecked: Uint8Array;
}

/** What the checking thread sends: chunks, then the end, or why it stopped (a download's failure). */
export type ChunkCheckMessage = ChunkMessage | { kind: 'end' } | { kind: 'failed'; message: string };

/** The words of what the thread stopped at, with its cause's (a wrapping error may say little alone). */
export function failureMessage(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  return e.cause instanceof Error ? `${e.message}: ${e.cause.message}` : e.message;
}

/** The message of `read`, with what the thread checked of its fresh records and the trees it built. */
export function chunkMessage(
  read: ChunkRead,
  bodyChecked: Uint8Array,
  trees: ReadonlyMap<number, MerkleLevels>,
): ChunkMessage {
  const fresh = read.fresh ?? [];
  const bytes = read.bytes ?? new Uint8Array(0);
  return {
    kind: 'chunk',
    chunk: read.chunk,
    // its own buffer: a download's bytes may be a view of a larger one, which handing over would take
    bytes: bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice(),
    missing: read.bytes === undefined,
    previous: read.previous.slice(),
    continues: read.fresh !== undefined,
    first: fresh[0]?.number ?? 0,
    offsets: recordOffsets(fresh),
    bodyChecked,
    ...packTrees(trees),
  };
}

/** What sentBytes counts for a message itself, and for each record's object, offset and flag. */
const MESSAGE_COST = 1024;
const RECORD_COST = 128;

/**
 * What a chunk message costs the follower, in bytes, as the thread's SendCredit counts it: its bytes
 * and trees, and some for the message itself and for each record's object, offset and flag (an empty
 * or one-record chunk costs more than its bytes).
 */
export function sentBytes(message: ChunkMessage): number {
  return (
    message.bytes.byteLength +
    message.treeBytes.byteLength +
    MESSAGE_COST +
    RECORD_COST * message.offsets.length
  );
}

/** The buffers a chunk message hands over: the sender keeps no view of them. */
export function handedOver(message: ChunkMessage): ArrayBuffer[] {
  return [message.bytes.buffer as ArrayBuffer, message.treeBytes.buffer as ArrayBuffer];
}

/** The chunk of a chunk message: its records are views of its bytes. */
export function checkedChunkOf(message: ChunkMessage): CheckedChunk {
  const { offsets, bytes, first } = message;
  return {
    chunk: message.chunk,
    bytes: message.missing ? undefined : bytes,
    previous: message.previous,
    // offsets within the chunk's bytes
    fresh: message.continues ? recordsAt(bytes, offsets, first, 0) : undefined,
    bodyChecked: message.bodyChecked,
    trees: unpackTrees(message),
  };
}
