/**
 * What an upstream journal chunk says, set against the records the mirror holds of it: whether it
 * continues them, ends early, is damaged (a byte flipped, a body cut: refused, and retried), or carries
 * another history (a fork: a different record that follows from the record before it, which the mirror
 * holds too). A random fault cannot make a fork: each record's chain hash covers the one before, so a
 * changed record that still follows from its predecessor was written so. Pure.
 * @module
 */
import { CHUNK_RECORDS } from '../journal/chunk.js';
import { CHAIN_HASH_BYTES, LENGTH_BYTES, MAX_RECORD_LENGTH } from '../journal/record.js';
import { type ScannedRecord, scanRecords } from '../journal/scan.js';
import { equalBytes } from '../ots/index.js';

export type ChunkReading =
  /** It holds every record the mirror holds of it, byte for byte, and `fresh` ones after them, each following. */
  | { kind: 'continues'; fresh: ScannedRecord[] }
  /** It agrees with the records held but ends before the last of them: `end` is the first it lacks. */
  | { kind: 'short'; end: number }
  /** Record `at` differs from the mirror's and follows from record `at - 1`, which agrees. */
  | { kind: 'forks'; at: number }
  /** Record `at` is cut short, malformed, or does not follow from the record before it. */
  | { kind: 'damaged'; at: number; reason: string }
  /**
   * Its first record does not follow from the chain hash before the chunk, though the records after it
   * follow from it: either that record is damaged, or the upstream's history differs before the
   * chunk. The chunk before tells.
   */
  | { kind: 'unlinked'; reason: string };

/**
 * Reads `bytes`, the upstream's chunk whose first record is `first`, against `held`: the mirror's own
 * stored bytes of the same records, up to its head (empty when it holds none of them). `previous` is
 * the chain hash before `first` (the mirror's, or that of the records it just verified before it).
 */
export function readChunk(
  bytes: Uint8Array,
  first: number,
  held: Uint8Array,
  previous: Uint8Array,
): ChunkReading {
  let at = 0;
  let number = first;
  let before = previous;
  const ours = scanRecords(held, { offset: 0, number: first, previousChainHash: previous });
  for (let step = ours.next(); ; step = ours.next()) {
    if (step.done) {
      if (step.value.kind !== 'end')
        throw new Error(`the mirror's own record ${number}: ${step.value.reason}`);
      break;
    }
    const mine = step.value;
    if (
      !equalBytes(bytes.subarray(at, at + mine.size), held.subarray(mine.offset, mine.offset + mine.size))
    ) {
      const theirs = scanRecords(bytes, { offset: at, number, previousChainHash: before }).next();
      if (!theirs.done) return { kind: 'forks', at: number };
      if (theirs.value.kind === 'end') return { kind: 'short', end: number };
      return notFollowing(bytes, first, theirs.value);
    }
    at += mine.size;
    number++;
    before = mine.chainHash;
  }
  const fresh: ScannedRecord[] = [];
  const theirs = scanRecords(bytes, { offset: at, number, previousChainHash: before });
  for (let step = theirs.next(); ; step = theirs.next()) {
    if (!step.done) {
      fresh.push(step.value);
      continue;
    }
    if (step.value.kind !== 'end') return notFollowing(bytes, first, step.value);
    if (number + fresh.length - first > CHUNK_RECORDS)
      return { kind: 'damaged', at: first + CHUNK_RECORDS, reason: `more than ${CHUNK_RECORDS} records` };
    return { kind: 'continues', fresh };
  }
}

/**
 * Where a scan of the chunk stopped: record `end.number`, at `end.offset`, does not follow from the one
 * before it. When that one is in the chunk (agreed or followed), the record is damaged; when it is the
 * chunk's first, the chunk before decides, unless the chunk is damaged after it too, or is the first.
 */
function notFollowing(
  bytes: Uint8Array,
  first: number,
  end: { offset: number; number: number; reason: string },
): ChunkReading {
  const damaged = { kind: 'damaged', at: end.number, reason: end.reason } as const;
  if (end.number !== first || first === 0) return damaged;
  const offset = end.offset;
  const size = recordSize(bytes, offset);
  if (size === undefined) return damaged;
  const stored = bytes.subarray(offset + size - CHAIN_HASH_BYTES, offset + size);
  const rest = scanRecords(bytes, { offset: offset + size, number: first + 1, previousChainHash: stored });
  for (let step = rest.next(); ; step = rest.next()) {
    if (step.done) return step.value.kind === 'end' ? { kind: 'unlinked', reason: end.reason } : damaged;
  }
}

/** The size of the whole record framed at `offset`, if it is all there. */
function recordSize(bytes: Uint8Array, offset: number): number | undefined {
  if (bytes.byteLength - offset < LENGTH_BYTES) return undefined;
  const length = new DataView(bytes.buffer, bytes.byteOffset + offset).getUint32(0);
  const size = LENGTH_BYTES + length + CHAIN_HASH_BYTES;
  return length === 0 || length > MAX_RECORD_LENGTH || bytes.byteLength - offset < size ? undefined : size;
}
