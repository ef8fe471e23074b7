/** Bringing an index up to the journal's head: from where it left off, or from nothing. */
import type { Journal, StoredRecord } from '../journal/journal.js';
import { ThreadFailedError } from '../journal/worker-messages.js';
import type { CalendarIndex } from './calendar-index.js';
import { writeCheckMarker } from './check-marker.js';
import { IndexConsistencyError, IndexDamagedError, isLmdbDamage } from './errors.js';
import { readAhead } from './read-ahead.js';
import type { ReadAheadBatch } from './read-ahead-message.js';

/** Records applied in one transaction (and between two progress reports). */
export const CATCH_UP_BATCH = 50_000;
/**
 * Records to apply from which the journal is read in another thread (see read-ahead.ts): a rebuild,
 * an index far behind. Below it, starting the thread costs about what it saves.
 */
export const READ_AHEAD_RECORDS = 100_000;

export interface CatchUpOptions {
  onProgress?: ((applied: number, total: number) => void) | undefined;
  /** Records to apply from which the journal is read in another thread (default READ_AHEAD_RECORDS). */
  readAheadFrom?: number;
  /** Told when that thread fails (see ThreadFailedError): the rest is read in this one. */
  onThreadFailure?: ((error: Error) => void) | undefined;
  /** That thread's script (read-ahead-worker.js). Only a test gives another, to make it fail. */
  readAheadThreadScript?: URL;
}

/** Applies the journal records the index has not applied yet, in batches of one transaction each. */
export async function catchUpIndex(
  index: CalendarIndex,
  journal: Journal,
  options: CatchUpOptions = {},
): Promise<void> {
  // Opening the journal refuses one shorter than the index's acknowledged position: never cleared here.
  if (index.applied.number > journal.head.records) {
    throw new IndexConsistencyError(
      `index: it has applied ${index.applied.number} records, but the journal holds ${journal.head.records}`,
    );
  }
  const total = journal.head.records;
  // another thread reads the segments with node:fs: not a journal a test reads through its own layer
  const readingAhead =
    journal.readsNodeFiles && total - index.applied.number >= (options.readAheadFrom ?? READ_AHEAD_RECORDS);
  const batches = readingAhead
    ? readAheadOrHere(index, journal, options)
    : inThisThread(journal.readBatches(readFrom(index), CATCH_UP_BATCH));
  for await (const { records, trees } of batches) {
    if (trees) {
      // built from these very records
      index.offerProofTrees(trees);
      try {
        index.apply(records);
      } finally {
        index.offerProofTrees(undefined);
      }
    } else index.apply(records);
    options.onProgress?.(index.applied.number, total);
  }
  options.onProgress?.(index.applied.number, total);
}

/**
 * The batches from where `index` is, read ahead in another thread; if the thread itself fails (a bug,
 * its memory, a crash), the rest read here from where the index got to: a start, or a rebuild, that
 * failed at each try with it would never end.
 */
async function* readAheadOrHere(
  index: CalendarIndex,
  journal: Journal,
  options: CatchUpOptions,
): AsyncGenerator<{ records: StoredRecord[]; trees: ReadAheadBatch['trees'] | undefined }> {
  try {
    yield* readAhead(journal.readPlan(readFrom(index)), {
      most: CATCH_UP_BATCH,
      ...(options.readAheadThreadScript && { threadScript: options.readAheadThreadScript }),
    });
    return;
  } catch (e) {
    if (!(e instanceof ThreadFailedError)) throw e;
    options.onThreadFailure?.(e);
  }
  yield* inThisThread(journal.readBatches(readFrom(index), CATCH_UP_BATCH));
}

/** Where the journal is read from for `index`: its start, or the position after the last record applied. */
function readFrom(index: CalendarIndex): 0 | CalendarIndex['applied'] {
  return index.applied.number === 0 ? 0 : index.applied;
}

/** Batches read here: no tree built ahead. */
async function* inThisThread(
  batches: AsyncGenerator<StoredRecord[]>,
): AsyncGenerator<{ records: StoredRecord[]; trees: undefined }> {
  for await (const records of batches) yield { records, trees: undefined };
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
