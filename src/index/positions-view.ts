/**
 * Where every POSITION_RECORDS-th record starts in the journal: a record is read back from the
 * nearest one before it (a kilobyte or so of commitment records), and a chunk of CHUNK_RECORDS
 * (what GET /journal/chunk/N serves) starts at one of them. Keys only grow: written in LMDB's append
 * mode, the pages are full.
 * @module
 */
import { CHUNK_RECORDS } from '../journal/chunk.js';
import type { RecordPosition } from '../journal/record.js';
import type { IndexDatabase, IndexedRecord, IndexView, OpenDatabase } from './index-view.js';
import { readU64, u64 } from './keys.js';

/** Records between two kept positions; CHUNK_RECORDS is a multiple of it. */
export const POSITION_RECORDS = 16;

export class PositionsView implements IndexView {
  /** record number / POSITION_RECORDS -> segment, offset */
  private readonly starts: IndexDatabase;

  constructor(open: OpenDatabase) {
    this.starts = open('positions');
  }

  apply({ record }: IndexedRecord): void {
    if (record.number % POSITION_RECORDS !== 0) return;
    this.starts.putSync(
      u64(record.number / POSITION_RECORDS),
      Buffer.concat([u64(record.segment), u64(record.offset)]),
      { append: true },
    );
  }

  /** The kept position at or before record `number` (undefined before the index has applied it). */
  positionBefore(number: number): RecordPosition | undefined {
    const group = Math.floor(number / POSITION_RECORDS);
    const value = this.starts.get(u64(group));
    return (
      value && { number: group * POSITION_RECORDS, segment: readU64(value, 0), offset: readU64(value, 8) }
    );
  }

  /** Where chunk `chunk` (records chunk*CHUNK_RECORDS onward) starts in the journal, once it has begun. */
  chunkStart(chunk: number): { segment: number; offset: number } | undefined {
    const position = this.positionBefore(chunk * CHUNK_RECORDS);
    return position && { segment: position.segment, offset: position.offset };
  }
}
