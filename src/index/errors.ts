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
 * Whether `error` is LMDB's, and not the disk refusing a write (waited out; isStorageError): a page
 * not found, a corrupted one, a transaction it gave up on. Damage the start's check did not see.
 */
export function isLmdbDamage(error: unknown): boolean {
  return error instanceof Error && /^MDB_/.test(error.message) && !isStorageError(error);
}
