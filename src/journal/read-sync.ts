/**
 * Reading journal records synchronously from a known position, chain hashes not checked: for the
 * index, which keeps only a prefix of each commitment and reads the rest back from the journal, in
 * its write transaction too (the journal is checked where it is read in full: on open, by the full
 * check, by catch-up). Records that start at a segment's end go on in the segment named by the next
 * record number. Bytes that do not frame a record are a plain Error, not JournalCorruptError: the
 * position came from the index, which may be the damaged one.
 * @module
 */
import { readSync } from 'node:fs';
import { CHAIN_HASH_BYTES, LENGTH_BYTES, MAX_RECORD_LENGTH, type RecordPosition } from './record.js';
import { SEGMENT_HEADER_BYTES } from './segment.js';
import type { SegmentFds } from './segment-fds.js';

/**
 * Bytes read first: a few dozen commitment records (a lookup reads back one, at most 15 records past
 * the index's kept position); each further read doubles, up to MAX_BLOCK_BYTES (a proof's commitments).
 */
const FIRST_BLOCK_BYTES = 2048;
const MAX_BLOCK_BYTES = 64 * 1024;

/** A record as read back: its payload is valid until the reader moves on. */
export interface ReadBackRecord {
  number: number;
  kind: number;
  payload: Uint8Array;
}

/**
 * The records of the journal whose segments `segments` opens, from `from` on, while the caller takes
 * them (stop early with break). Ends where the journal ends; throws for bytes that do not frame a
 * record, or a segment missing at `from`.
 */
export function* readRecordsSync(segments: SegmentFds, from: RecordPosition): Generator<ReadBackRecord> {
  let { number, segment, offset } = from;
  let buffer = Buffer.allocUnsafe(FIRST_BLOCK_BYTES);
  let fd = segments.fd(segment);
  if (fd === undefined) throw new Error(`journal ${segments.path(segment)}: no such segment`);
  while (fd !== undefined) {
    const path = segments.path(segment);
    const cutShort = () => new Error(`journal ${path}: record ${number} at offset ${offset} cut short`);
    for (;;) {
      let got = readSync(fd, buffer, 0, buffer.byteLength, offset);
      if (got === 0) break;
      let at = 0;
      while (got - at >= LENGTH_BYTES) {
        const length = buffer.readUInt32BE(at);
        if (length === 0 || length > MAX_RECORD_LENGTH) {
          throw new Error(
            `journal ${path}: no record ${number} at offset ${offset + at} (invalid length ${length})`,
          );
        }
        const size = LENGTH_BYTES + length + CHAIN_HASH_BYTES;
        if (got - at < size) {
          if (at > 0) break;
          // one record larger than the buffer
          buffer = Buffer.allocUnsafe(size);
          got = readSync(fd, buffer, 0, size, offset);
          if (got < size) throw cutShort();
        }
        yield {
          number,
          kind: buffer[at + LENGTH_BYTES] as number,
          payload: buffer.subarray(at + LENGTH_BYTES + 1, at + LENGTH_BYTES + length),
        };
        number++;
        at += size;
      }
      if (at === 0) throw cutShort();
      offset += at;
      if (buffer.byteLength < MAX_BLOCK_BYTES) buffer = Buffer.allocUnsafe(2 * buffer.byteLength);
    }
    // the segment ended at a record's end: the next one, if any, starts with the next record
    segment = number;
    offset = SEGMENT_HEADER_BYTES;
    fd = segments.fd(segment);
  }
}
