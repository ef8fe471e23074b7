/**
 * Upstream chunks downloaded (see ChunkDownloads) and read in order (see readChunk): the first against
 * the records the mirror holds of it, each after it against the chunk before, as long as each simply
 * continues the records before it. What does not (a fork, damage, one the upstream lacks), and a
 * chunk before the last that ends early, is the last read: the follower settles or refuses it.
 * @module
 */
import { CHUNK_RECORDS } from '../journal/chunk.js';
import { CHAIN_HASH_BYTES } from '../journal/record.js';
import type { ScannedRecord } from '../journal/scan.js';
import { ChunkDownloads } from './chunk-downloads.js';
import type { ChunkSource } from './chunk-source.js';
import { readChunk } from './upstream-chunk.js';

/** Chunks downloading at once. */
const DOWNLOADS_AHEAD = 8;

/** The records the mirror holds of the first chunk read, and the chain hash before them. */
export interface HeldRecords {
  bytes: Uint8Array;
  previous: Uint8Array;
}

/** The chunk to read next, and what the mirror holds of it (none past the first). */
export interface NextRead {
  chunk: number;
  held: HeldRecords;
}

export interface ChunkRead {
  chunk: number;
  /** Its bytes; undefined when the upstream says it has not begun (404). */
  bytes: Uint8Array | undefined;
  /** The chain hash it was read against: that before the records held, or at the end of the chunk before. */
  previous: Uint8Array;
  /** Its records past those held, each following from the one before; undefined when it does not simply continue them. */
  fresh: ScannedRecord[] | undefined;
}

/** Chunks `first` up to (not including) `end`, read in order; it ends early after a chunk it cannot continue. */
export async function* readChunks(
  source: ChunkSource,
  first: number,
  end: number,
  held: HeldRecords,
): AsyncGenerator<ChunkRead> {
  const downloads = new ChunkDownloads(source, first, end, DOWNLOADS_AHEAD);
  let next: NextRead | undefined = { chunk: first, held };
  while (next && next.chunk < end) {
    const { chunk, held: before } = next;
    const bytes = await downloads.take(chunk);
    const reading = bytes && readChunk(bytes, chunk * CHUNK_RECORDS, before.bytes, before.previous);
    const read = {
      chunk,
      bytes,
      previous: before.previous,
      fresh: reading?.kind === 'continues' ? reading.fresh : undefined,
    };
    // before the reader takes the bytes, which a thread hands over
    next = readAfter(read);
    yield read;
  }
}

/**
 * Where reading goes on after `read`: at the next chunk, after the chain hash of its last record.
 * Nowhere when it does not continue the records before it, or ends early (a chunk before the last
 * that ends early is refused: none after it is downloaded).
 */
export function readAfter(read: ChunkRead): NextRead | undefined {
  const { chunk, bytes, fresh } = read;
  const last = fresh?.at(-1);
  if (!bytes || !fresh || (last?.number ?? -1) + 1 < (chunk + 1) * CHUNK_RECORDS) return undefined;
  // copied, not a view: the reader may hand the bytes over
  return {
    chunk: chunk + 1,
    held: { bytes: new Uint8Array(0), previous: bytes.slice(bytes.byteLength - CHAIN_HASH_BYTES) },
  };
}
