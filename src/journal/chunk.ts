/**
 * Journal chunks, as served to mirrors: the records numbered chunk*CHUNK_RECORDS up to the next
 * multiple, their stored bytes back to back (length, kind, payload, chain hash each). A full chunk
 * never changes. See docs/mirroring.md.
 * @module
 */
import { type ScannedRecord, scanRecords } from './scan.js';

export const CHUNK_RECORDS = 256;

/**
 * Parses and checks a chunk's bytes: `first` is the number of its first record and `previous` the
 * chain hash before it. Throws naming the first record that is cut short or does not chain.
 */
export function parseChunk(bytes: Uint8Array, first: number, previous: Uint8Array): ScannedRecord[] {
  const records: ScannedRecord[] = [];
  const scan = scanRecords(bytes, { offset: 0, number: first, previousChainHash: previous });
  for (;;) {
    const step = scan.next();
    if (step.done) {
      if (step.value.kind !== 'end') throw new Error(`record ${step.value.number}: ${step.value.reason}`);
      return records;
    }
    records.push(step.value);
  }
}
