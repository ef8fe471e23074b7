/**
 * A journal record's fields as plain values: a record read is one object over the bytes it was read
 * from (src/journal/scan.ts), which differ from one read to the next and hide its fields in getters.
 */
import type { StoredRecord } from '../../src/journal/journal.js';

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
