/**
 * Opening the index of a data directory at start, so that a damaged one is never answered from: its
 * LMDB file is checked before LMDB maps it (its meta pages: lmdb-file.ts; then in a child process,
 * its trees and free list, lmdb-trees.ts, and every entry: read-pages.ts), then the index against the journal
 * (check.ts), and brought up to it. A damaged index is removed and rebuilt from the journal, with a
 * log line at error level; a rebuild keeps the acknowledged position where it can still be read. A
 * check or catch-up that crashes otsd (LMDB reading a damaged page can end the process with SIGSEGV),
 * or LMDB failing at a write while otsd serves (catch-up.ts), leaves its marker, and the next start
 * rebuilds the index without reading it again (check-marker.ts).
 * @module
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { journalDamaged } from '../journal/damaged.js';
import {
  type Journal,
  JournalCorruptError,
  type JournalLogger,
  type ReadCursor,
} from '../journal/journal.js';
import { CalendarIndex } from './calendar-index.js';
import { catchUpIndex } from './catch-up.js';
import { indexProblem } from './check.js';
import {
  CHECK_MARKER,
  hasCheckMarker,
  readCheckMarker,
  removeCheckMarker,
  writeCheckMarker,
} from './check-marker.js';
import { IndexCheckStoppedError, isLmdbDamage } from './errors.js';
import { lmdbFileProblem } from './lmdb-file.js';
import { readIndexPages } from './read-pages.js';

/** While the child checks the index's file and tells its progress, `onChecking` is called at most this often. */
const CHECKING_NOTIFY_MS = 10_000;

/**
 * Opens the index at `path` of the journal in `journalDir` (creating it if needed); one whose file is
 * damaged is made anew. The file is checked before this process maps it: its meta pages, then its
 * trees and free list and every entry, by a child process; `onChecking` is called at its start and
 * at most every 10 s while it goes on (not while a child that hangs says nothing). A child ended by a
 * signal that stops processes (otsd's unit stopping) ends the start, the index as it was.
 */
export async function openCheckedIndex(
  path: string,
  journalDir: string,
  log: JournalLogger,
  onChecking?: () => void,
): Promise<CalendarIndex> {
  const file = join(path, 'data.mdb');
  if (hasCheckMarker(path)) {
    // a marker that cannot be read (written by an older otsd, or damaged): the child may still read
    // the position in the index
    const kept = readCheckMarker(path) ?? (existsSync(file) ? await acknowledgedIn(path) : undefined);
    return rebuild(
      path,
      journalDir,
      'otsd ended while it checked, caught up or wrote the index last time (a damaged page, or LMDB failing on one)',
      kept,
      log,
    );
  }
  if (existsSync(file)) {
    const metaProblem = lmdbFileProblem(file);
    if (metaProblem) return rebuild(path, journalDir, metaProblem, undefined, log);
    onChecking?.();
    let told = Date.now();
    const pages = await readIndexPages(path, () => {
      if (Date.now() - told < CHECKING_NOTIFY_MS) return;
      told = Date.now();
      onChecking?.();
    });
    if (pages.stoppedBy) throw new IndexCheckStoppedError(pages.stoppedBy);
    if (pages.problem) return rebuild(path, journalDir, pages.problem, pages.acknowledged, log);
  }
  try {
    return CalendarIndex.open(path, journalDir);
  } catch (e) {
    // its list of sub-databases or its cursor cannot be read: nor can its acknowledged position
    return rebuild(path, journalDir, `opening it failed: ${(e as Error).message}`, undefined, log);
  }
}

/** The acknowledged position the child reads from the index at `path`, if it can. */
async function acknowledgedIn(path: string): Promise<ReadCursor | undefined> {
  const read = await readIndexPages(path);
  if (read.stoppedBy) throw new IndexCheckStoppedError(read.stoppedBy);
  return read.acknowledged;
}

/**
 * Checks `index` against `journal`, brings it up to the journal's head and writes to it once: returns
 * it, or, if it is damaged (found by the check, or an LMDB error while it catches up or writes), a
 * rebuilt one that keeps its acknowledged position. The marker stays while all this runs: otsd dying in it (a damaged page read or written)
 * makes the next start rebuild the index without reading it.
 */
export async function checkedAndCaughtUp(
  index: CalendarIndex,
  path: string,
  journal: Journal,
  log: JournalLogger,
  onProgress?: (applied: number, total: number) => void,
): Promise<CalendarIndex> {
  const acknowledged = index.acknowledged;
  try {
    // kept by a rebuild
    writeCheckMarker(path, acknowledged);
  } catch (e) {
    await index.close();
    throw e;
  }
  try {
    const problem = await indexProblem(index, journal);
    if (problem) {
      await index.close();
      index = rebuild(path, journal.dir, problem, acknowledged, log);
    }
    try {
      await catchUp(index, journal, log, onProgress);
      // a write under the marker: damage only a write meets (the free list) ends it here, or this
      // process, and the next start rebuilds; not the first round's write, start after start
      index.writeProbe();
    } catch (e) {
      if (problem || !isLmdbDamage(e)) throw e;
      await index.close();
      index = rebuild(
        path,
        journal.dir,
        `catching up or writing failed: ${(e as Error).message}`,
        acknowledged,
        log,
      );
      await catchUp(index, journal, log, onProgress);
    }
    return index;
  } catch (e) {
    await index.close();
    throw e;
  } finally {
    removeCheckMarker(path);
  }
}

/**
 * catchUpIndex, where a record failing its chain check is the journal's damage, said so, and the
 * failure of the thread reading ahead a warning.
 */
async function catchUp(
  index: CalendarIndex,
  journal: Journal,
  log: JournalLogger,
  onProgress?: (applied: number, total: number) => void,
): Promise<void> {
  try {
    await catchUpIndex(index, journal, {
      onProgress,
      onThreadFailure: (e) =>
        log.warn({ err: e }, 'index: the thread reading the journal ahead failed; reading on in this one'),
    });
  } catch (e) {
    if (e instanceof JournalCorruptError) throw journalDamaged(journal.dir, e);
    throw e;
  }
}

/**
 * Removes the index at `path` and makes a new one holding `acknowledged`. The position is in the
 * marker, durably, before anything is removed, and the marker stays: otsd ending at any point in
 * between rebuilds again next start, keeping it.
 */
function rebuild(
  path: string,
  journalDir: string,
  problem: string,
  acknowledged: ReadCursor | undefined,
  log: JournalLogger,
): CalendarIndex {
  log.error(
    {
      index: path,
      problem,
      acknowledgedRecords: acknowledged?.number ?? 'lost with the damage',
    },
    'index: damaged; rebuilding it from the journal',
  );
  if (acknowledged) writeCheckMarker(path, acknowledged);
  for (const name of readdirSync(path)) {
    if (name !== CHECK_MARKER) rmSync(join(path, name), { recursive: true, force: true });
  }
  const index = CalendarIndex.open(path, journalDir);
  if (acknowledged) index.keepAcknowledged(acknowledged);
  return index;
}
