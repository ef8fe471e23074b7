/**
 * Compacting an index rebuilt from nothing. A rebuild writes in large transactions, and with
 * commitments spread over the whole key space each one rewrites most pages: LMDB keeps the old copies
 * as free pages, and the file ends some 2.5 times the size of its live pages (an index that grows with
 * the calendar, a few records a transaction, reuses them). A compact copy (LMDB's own, page by page)
 * replaces the file: written and fsynced beside it, then renamed over it, so that otsd ending at any
 * point leaves one or the other whole.
 * @module
 */
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { JournalLogger } from '../journal/journal.js';
import { CalendarIndex } from './calendar-index.js';
import { fsyncPath } from './fsync-path.js';

/** Where the compact copy is written, inside the index's directory (removed before and after). */
export const COMPACTING_DIR = 'compacting';

/**
 * Replaces the index at `path` (open as `index`) with a compact copy of it, and returns the copy
 * opened. When the copy cannot be made (a full disk), logs why and returns `index` as it was.
 */
export async function compactIndex(
  index: CalendarIndex,
  path: string,
  journalDir: string,
  log: JournalLogger,
): Promise<CalendarIndex> {
  const dir = join(path, COMPACTING_DIR);
  const copy = join(dir, 'data.mdb');
  try {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    await index.copyCompact(dir);
    fsyncPath(copy);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    log.warn({ index: path, err: e }, 'index: rebuilt, but not compacted (it works as it is)');
    return index;
  }
  await index.close();
  renameSync(copy, join(path, 'data.mdb'));
  fsyncPath(path);
  rmSync(dir, { recursive: true, force: true });
  return CalendarIndex.open(path, journalDir);
}
