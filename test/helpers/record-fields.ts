/**
 * Journal records in tests: every record of a journal, and a record's fields as plain values (a
 * record read is one object over the bytes it was read from, src/journal/scan.ts, which differ from
 * one read to the next and hide its fields in getters).
 */
import type { Journal, ReadCursor, StoredRecord } from '../../src/journal/journal.js';

/** The records of `journal` from `from` (a record number or a cursor) to its head. */
export async function recordsOf(journal: Journal, from: number | ReadCursor = 0): Promise<StoredRecord[]> {
  const records: StoredRecord[] = [];
  for await (const record of journal.read(from)) records.push(record);
  return records;
}

export function recordFields(r: StoredRecord): StoredRecord {
  return {
    number: r.number,
    kind: r.kind,
    payload: Buffer.from(r.payload),
    chainHash: Buffer.from(r.chainHash),
    offset: r.offset,
    size: r.size,
    segment: r.segment,
  };
}
