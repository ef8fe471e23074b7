/**
 * Reading a journal's durable records in arrays, segment by segment, every chain hash checked, from a
 * snapshot of its segments: the journal reads so (Journal.readBatches), and so does a thread reading
 * ahead of an index (index/read-ahead-worker.ts), which has the snapshot and not the journal.
 * @module
 */
import { join } from 'node:path';
import { type JournalFiles, readFileRange } from './files.js';
import type { ReadCursor, StoredRecord } from './journal.js';
import { JournalCorruptError } from './recovery.js';
import { scanRecords } from './scan.js';
import { SEGMENT_HEADER_BYTES, segmentFileName } from './segment.js';
import type { SegmentState } from './segment-files.js';

/** What a reader needs to read a journal's records: taken when reading starts (Journal.readPlan). */
export interface ReadPlan {
  dir: string;
  /** The segments, each with the bytes of its durable records. */
  segments: readonly SegmentState[];
  /** The first record to read, by number, or a cursor to resume at without scanning up to it. */
  from: number | ReadCursor;
  /** The number of the first record not to read: the head. */
  limit: number;
}

/** Records read together, all from one segment, and the bytes of the segment they are views of. */
export interface RecordSpan {
  records: StoredRecord[];
  /** Bytes of the segment from its offset `base` on. */
  bytes: Uint8Array;
  base: number;
}

/**
 * The records of `plan`, at most `most` a span; a span never crosses segments. A record failing its
 * check ends it with JournalCorruptError, after the records before it.
 */
export async function* readSpans(
  plan: ReadPlan,
  files: JournalFiles,
  most: number,
): AsyncGenerator<RecordSpan> {
  const { dir, segments, from, limit } = plan;
  const startNumber = typeof from === 'number' ? from : from.number;
  if (startNumber >= limit) return;
  let index = segments.findLastIndex((s) => s.first <= startNumber);
  let cursor: ReadCursor | undefined = typeof from === 'number' ? undefined : from;
  for (; index < segments.length; index++) {
    const segment = segments[index] as SegmentState;
    const path = join(dir, segmentFileName(segment.first));
    const base = cursor?.segment === segment.first ? cursor.offset : SEGMENT_HEADER_BYTES;
    const bytes = await readFileRange(files, path, base, segment.size);
    const start =
      cursor?.segment === segment.first
        ? { offset: base, number: cursor.number, previousChainHash: cursor.previousChainHash }
        : {
            offset: SEGMENT_HEADER_BYTES,
            number: segment.first,
            previousChainHash: segment.previousChainHash,
          };
    cursor = undefined;
    const scan = scanRecords(bytes, start, base, segment.first);
    let records: StoredRecord[] = [];
    for (;;) {
      const step = scan.next();
      if (step.done) {
        const end = step.value;
        // a file that ends before its durable records do was cut short (at a record's end) since opened
        const damage =
          end.kind !== 'end'
            ? `record ${end.number} at offset ${end.offset}: ${end.reason}`
            : end.offset < segment.size
              ? `the file ends at offset ${end.offset}, before the ${segment.size} bytes of its durable records`
              : undefined;
        if (damage !== undefined) {
          // what verified before the damage is read first, as a record at a time would be
          if (records.length > 0) yield { records, bytes, base };
          throw new JournalCorruptError(`journal ${path}: ${damage}`);
        }
        break;
      }
      if (step.value.number >= limit) {
        if (records.length > 0) yield { records, bytes, base };
        return;
      }
      if (step.value.number < startNumber) continue;
      if (records.push(step.value as StoredRecord) === most) {
        yield { records, bytes, base };
        records = [];
      }
    }
    if (records.length > 0) yield { records, bytes, base };
  }
}
