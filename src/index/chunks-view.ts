/** Where each chunk of CHUNK_RECORDS records starts in the journal: what GET /journal/chunk/N serves from. */
import { CHUNK_RECORDS } from '../journal/chunk.js';
import type { IndexDatabase, IndexedRecord, IndexView, OpenDatabase } from './index-view.js';
import { readU64, u64 } from './keys.js';

export class ChunksView implements IndexView {
  private readonly starts: IndexDatabase;

  constructor(open: OpenDatabase) {
    this.starts = open('chunks');
  }

  apply({ record }: IndexedRecord): void {
    if (record.number % CHUNK_RECORDS !== 0) return;
    this.starts.put(
      u64(record.number / CHUNK_RECORDS),
      Buffer.concat([u64(record.segment), u64(record.offset)]),
    );
  }

  /** Where chunk `chunk` (records chunk*CHUNK_RECORDS onward) starts in the journal, once it has begun. */
  chunkStart(chunk: number): { segment: number; offset: number } | undefined {
    const value = this.starts.get(u64(chunk));
    return value && { segment: readU64(value, 0), offset: readU64(value, 8) };
  }
}
