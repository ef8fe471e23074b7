/**
 * A storage fault the journal waits out instead of stopping: a write that failed (the disk full, a
 * quota, an I/O error), or an index that could not take durable records for such a reason. While it
 * lasts the journal refuses appends with JournalUnavailableError and retries with backoff; the first
 * attempt that succeeds ends it. See docs/operating.md, "When things go wrong".
 * @module
 */
import { constants } from 'node:os';

/** Why the journal refuses appends for now; it takes them again by itself once a write succeeds. */
export class JournalUnavailableError extends Error {
  override name = 'JournalUnavailableError';
}

/** What the operator is shown while the journal refuses appends. */
export interface JournalOutage {
  /** What failed, e.g. `a write failed: ENOSPC: no space left on device, write`. */
  reason: string;
  /** When it began (ms since the epoch). */
  since: number;
  /** Attempts since, each failed. */
  retries: number;
}

/** The error codes of a disk that is full, over quota, failing or made read-only: waited out. */
const STORAGE_CODES = ['ENOSPC', 'EDQUOT', 'EIO', 'EROFS', 'EFBIG'] as const;
const STORAGE_ERRNOS: ReadonlySet<number> = new Set(STORAGE_CODES.map((code) => constants.errno[code]));

/**
 * Whether `error` says the storage refused a write: node:fs names the code (`ENOSPC`), LMDB gives its
 * number (5 for EIO, which is what it reports for a full disk).
 */
export function isStorageError(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') return (STORAGE_CODES as readonly string[]).includes(code);
  return typeof code === 'number' && STORAGE_ERRNOS.has(code);
}

export interface RetryDelays {
  /** The wait before the first attempt; it doubles with each failure... */
  firstMs: number;
  /** ...up to this. */
  maxMs: number;
}

export const DEFAULT_RETRY_DELAYS: RetryDelays = { firstMs: 100, maxMs: 5000 };

/** The wait before attempt number `retries` (from 0). */
export function retryDelay(delays: RetryDelays, retries: number): number {
  return Math.min(delays.maxMs, delays.firstMs * 2 ** Math.min(retries, 30));
}
