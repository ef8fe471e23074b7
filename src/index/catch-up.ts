/** Bringing an index up to the journal's head: from where it left off, or from nothing. */
import type { Journal } from '../journal/journal.js';
import type { CalendarIndex } from './calendar-index.js';
import { writeCheckMarker } from './check-marker.js';
import { IndexConsistencyError, IndexDamagedError, isLmdbDamage } from './errors.js';

/** Records applied in one transaction (and between two progress reports). */
export const CATCH_UP_BATCH = 50_000;

/** Applies the journal records the index has not applied yet, in batches of one transaction each. */
export async function catchUpIndex(
  index: CalendarIndex,
  journal: Journal,
  onProgress?: (applied: number, total: number) => void,
): Promise<void> {
  // Opening the journal refuses one shorter than the index's acknowledged position: never cleared here.
  if (index.applied.number > journal.head.records) {
    throw new IndexConsistencyError(
      `index: it has applied ${index.applied.number} records, but the journal holds ${journal.head.records}`,
    );
  }
  const total = journal.head.records;
  const from = index.applied.number === 0 ? 0 : index.applied;
  for await (const batch of journal.readBatches(from, CATCH_UP_BATCH)) {
    index.apply(batch);
    onProgress?.(index.applied.number, total);
  }
  onProgress?.(index.applied.number, total);
}

/**
 * catchUpIndex while otsd serves, for the index at `indexPath` that failed to take durable records:
 * an LMDB error again is damage the start's check missed (a page of the free list, which LMDB reads
 * first at a write). The check marker is written, so that the next start rebuilds the index from the
 * journal instead of checking it again and failing at the same write, and IndexDamagedError thrown.
 */
export async function catchUpOrMarkDamaged(
  index: CalendarIndex,
  journal: Journal,
  indexPath: string,
): Promise<void> {
  try {
    await catchUpIndex(index, journal);
  } catch (e) {
    if (!isLmdbDamage(e)) throw e;
    writeCheckMarker(indexPath, index.acknowledged);
    throw new IndexDamagedError(
      `index: damaged (${(e as Error).message}); the next start rebuilds it from the journal`,
      { cause: e },
    );
  }
}
