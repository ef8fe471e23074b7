/**
 * Reading journal records synchronously from a known position, chain hashes not checked: for the
 * index, which keeps only a prefix of each commitment and reads the rest back from the journal, in
 * its write transaction too (the journal is checked where it is read in full: on open, by the full
 * check, by catch-up). Records that start at a segment's end go on in the segment named by the next
 * record number. Bytes that do not frame a record are a plain Error, not JournalCorruptError: the
 * position came from the index, which may be the damaged one.
 * @module
 */
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { CHAIN_HASH_BYTES, LENGTH_BYTES, MAX_RECORD_LENGTH, type RecordPosition } from './record.js';
import { SEGMENT_HEADER_BYTES, segmentFileName } from './segment.js';

/** Bytes read at once: a few hundred commitment records. */
const BLOCK_BYTES = 16 * 1024;

/** A record as read back: its payload is valid until the reader moves on. */
export interface ReadBackRecord {
  number: number;
  kind: number;
  payload: Uint8Array;
}

/**
 * The records of the journal in `dir` from `from` on, while the caller takes them (stop early with
 * break). Ends where the journal ends; throws for bytes that do not frame a record.
 */
export function* readRecordsSync(dir: string, from: RecordPosition): Generator<ReadBackRecord> {
  let { number, segment, offset } = from;
  let buffer = Buffer.allocUnsafe(BLOCK_BYTES);
  for (;;) {
    const path = join(dir, segmentFileName(segment));
    const cutShort = () => new Error(`journal ${path}: record ${number} at offset ${offset} cut short`);
    const fd = openSync(path, 'r');
    try {
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
      }
    } finally {
      closeSync(fd);
    }
    // the segment ended at a record's end: the next one starts with the next record
    segment = number;
    offset = SEGMENT_HEADER_BYTES;
    if (!existsSync(join(dir, segmentFileName(segment)))) return;
  }
}
