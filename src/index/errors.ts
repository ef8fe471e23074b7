import { isStorageError } from '../journal/outage.js';

/** The journal and the index disagree in a way catch-up cannot mend: reindex, or the journal is bad. */
export class IndexConsistencyError extends Error {
  override name = 'IndexConsistencyError';
}

/** LMDB failed on the index's own file while otsd ran: its marker is written, and the next start rebuilds it. */
export class IndexDamagedError extends Error {
  override name = 'IndexDamagedError';
}

/**
 * The start's check of the index was ended by a signal that stops processes (otsd's unit stopping
 * while the check ran): a stop asked for, not a failure; the index is left as it was.
 */
export class IndexCheckStoppedError extends Error {
  override name = 'IndexCheckStoppedError';
  constructor(readonly signal: string) {
    super(`index: its check at start was stopped (${signal}); it is left as it was`);
  }
}

/**
 * LMDB's errors that say its file is not what it wrote: a page not found or of the wrong kind, a
 * transaction it gave up on after one. Not its limits (MAP_FULL, READERS_FULL, TXN_FULL, BAD_VALSIZE)
 * nor MDB_PANIC (a meta page not written: reopening mends it), which a restart meets again or mends
 * without a rebuild; nor the disk refusing a write, waited out (isStorageError).
 */
const DAMAGE = /^MDB_(PAGE_NOTFOUND|CORRUPTED|BAD_TXN|PROBLEM|INVALID|PAGE_FULL|CURSOR_FULL|INCOMPATIBLE)\b/;

/** Whether `error` is LMDB finding damage the start's check did not see. */
export function isLmdbDamage(error: unknown): boolean {
  return error instanceof Error && DAMAGE.test(error.message) && !isStorageError(error);
}
