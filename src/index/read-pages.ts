/**
 * Reading every page of an index's LMDB file in a child process, before otsd maps it: LMDB trusts the
 * pages it follows, and a damaged one can end the process that reads it with SIGSEGV and no message.
 * The child opens the index as otsd does (so that LMDB opens the same snapshot: after a power cut it
 * may roll back to the older one), writes the acknowledged position, walks every tree and the free
 * list by reading the file (lmdb-trees.ts), then reads every entry, key and value, of every
 * sub-database through LMDB and checks it read as many as LMDB counts; it failing or dying of a fault
 * tells the index is damaged, and otsd goes on unharmed, its event loop free meanwhile. A few seconds
 * a GB and about a second per few million entries; the child tells its progress as it goes, so that
 * a check that hangs (a failing disk) is not given time without end.
 * @module
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Database, open, type RootDatabase } from 'lmdb';
import type { ReadCursor } from '../journal/journal.js';
import { storedAcknowledged } from './calendar-index.js';
import { cursorFromJson, cursorToJson } from './cursor-json.js';
import { databaseNames } from './database-names.js';
import { lmdbTreesProblem } from './lmdb-trees.js';

const SELF = fileURLToPath(import.meta.url);
/** Most of the child's error text kept (an LMDB message and a line or two). */
const MAX_ERROR_CHARS = 500;
/** The child's line of progress, every few seconds while it works (however slow the disk). */
const PROGRESS = 'progress';
const PROGRESS_MS = 5_000;
/** Entries read between two looks at the clock. */
const ENTRIES_PER_LOOK = 1_024;
/** Signals that stop a process, not faults: the child was ended (otsd stopping), nothing was found. */
const STOP_SIGNALS: readonly string[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];

/** What the child found: why the index cannot be read through, and the position it holds. */
export interface IndexPagesRead {
  /** Why the index is damaged; undefined when every page reads. */
  problem: string | undefined;
  /** The acknowledged position, if the child could read it first (a rebuild keeps it). */
  acknowledged: ReadCursor | undefined;
  /** The signal that stopped the child before it could tell (otsd or its unit stopping). */
  stoppedBy?: string;
}

/**
 * Reads the index at `path` through in a child; `onProgress` is called as the child tells it.
 * Rejects when the child cannot be started (which says nothing about the index).
 */
export function readIndexPages(path: string, onProgress?: () => void): Promise<IndexPagesRead> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SELF, path], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.on('error', (e) =>
      reject(new Error(`index: its check at start could not start a process: ${e.message}`, { cause: e })),
    );
    let firstLine: string | undefined;
    let pendingLine = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (pendingLine + chunk).split('\n');
      pendingLine = (lines.pop() as string).slice(0, MAX_ERROR_CHARS);
      for (const line of lines) {
        if (line === PROGRESS) onProgress?.();
        else firstLine ??= line;
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(0, 2 * MAX_ERROR_CHARS);
    });
    child.on('close', (code, signal) => {
      const acknowledged = cursorFromJson(firstLine ?? '');
      if (signal && STOP_SIGNALS.includes(signal))
        return resolve({ problem: undefined, acknowledged, stoppedBy: signal });
      if (code === 0) return resolve({ problem: undefined, acknowledged });
      const why = signal ? `ended with ${signal}` : `failed: ${stderr.trim().slice(0, MAX_ERROR_CHARS)}`;
      resolve({ problem: `reading every page of it ${why}`, acknowledged });
    });
  });
}

/**
 * The index at `path` opened as otsd opens it, with every sub-database LMDB lists (its own list, not
 * otsd's, so that one otsd forgets shows up too). Nothing is written to it but what LMDB writes when
 * it opens a file (the older snapshot made the newest again, after a power cut in a commit): a
 * listed sub-database that cannot be opened as it is (a damaged name) is an error, never created.
 */
export function openEveryDatabase(path: string): {
  root: RootDatabase<Buffer, Buffer>;
  databases: Map<string, Database<Buffer, Buffer>>;
} {
  const root = open<Buffer, Buffer>({ path, keyEncoding: 'binary', encoding: 'binary', maxDbs: 64 });
  // listed first, since opening one while the main database is being read fails
  const names = databaseNames(root);
  const databases = new Map(
    names.map((name) => {
      // `create: false` (open.js reads it; lmdb's types do not declare it): a name damaged into
      // another makes no new, empty database
      const options = { name, keyEncoding: 'binary', encoding: 'binary', create: false } as const;
      const db = root.openDB<Buffer, Buffer>(options as Omit<typeof options, 'create'>);
      if (!db)
        throw new Error(`index ${path}: sub-database ${JSON.stringify(name)} is listed but cannot be opened`);
      return [name, db];
    }),
  );
  return { root, databases };
}

/**
 * The child: writes the acknowledged position the index at `path` holds (a line of JSON, on a pipe:
 * its meta database is read first, before the pages of any other, and a rebuild keeps it), walks
 * its trees, then reads every entry of every sub-database, writing a line of progress every 5 s.
 */
function readEveryEntry(path: string): void {
  let told = Date.now();
  const progress = () => {
    if (Date.now() - told < PROGRESS_MS) return;
    told = Date.now();
    process.stdout.write(`${PROGRESS}\n`);
  };
  const { databases } = openEveryDatabase(path);
  const meta = databases.get('meta');
  const stored = meta ? storedAcknowledged(meta) : { acknowledged: undefined, problem: undefined };
  const { acknowledged } = stored;
  process.stdout.write(`${acknowledged ? cursorToJson(acknowledged) : ''}\n`);
  if (stored.problem) throw new Error(stored.problem);
  const problem = lmdbTreesProblem(join(path, 'data.mdb'), progress);
  if (problem) throw new Error(problem);
  for (const [name, db] of databases) {
    let read = 0;
    for (const _ of db.getRange()) if (++read % ENTRIES_PER_LOOK === 0) progress();
    // a damaged branch page can hide part of a tree without an error: the count LMDB keeps tells
    const counted = (db.getStats() as { entryCount: number }).entryCount;
    if (read !== counted)
      throw new Error(`sub-database ${name}: ${read} entries read, LMDB counts ${counted}`);
  }
}

if (process.argv[1] === SELF) {
  try {
    readEveryEntry(process.argv[2] as string);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exitCode = 1;
  }
}
