/**
 * Reading every page of an index's LMDB file in a child process, before otsd maps it: LMDB trusts the
 * pages it follows, and a damaged one can end the process that reads it with SIGSEGV and no message.
 * The child walks every tree and the free list by reading the file (lmdb-trees.ts), then reads every
 * entry, key and value, of every sub-database (so every branch, leaf and overflow page) through LMDB,
 * and checks it read as many as LMDB counts; it failing or dying tells the index is damaged, and otsd
 * goes on unharmed, its event loop free meanwhile (a large index takes minutes). A few seconds a GB
 * and about a second per few million entries.
 * @module
 */
import { execFile } from 'node:child_process';
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

/**
 * Why the index at `path` cannot be read through (undefined when every page reads), and the
 * acknowledged position it holds, if the child could read it first (a rebuild keeps it).
 */
export function readIndexPages(
  path: string,
): Promise<{ problem: string | undefined; acknowledged: ReadCursor | undefined }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [SELF, path], { maxBuffer: 64 * 1024 }, (error, stdout, stderr) => {
      const acknowledged = cursorFromJson(stdout.split('\n')[0] ?? '');
      if (!error) return resolve({ problem: undefined, acknowledged });
      const why = error.signal
        ? `ended with ${error.signal}`
        : `failed: ${stderr.trim().slice(0, MAX_ERROR_CHARS)}`;
      resolve({ problem: `reading every page of it ${why}`, acknowledged });
    });
  });
}

/**
 * The index at `path` opened read-only, with every sub-database LMDB lists (its own list, not otsd's,
 * so that one otsd forgets shows up too).
 */
export function openEveryDatabase(path: string): {
  root: RootDatabase<Buffer, Buffer>;
  databases: Map<string, Database<Buffer, Buffer>>;
} {
  const root = open<Buffer, Buffer>({
    path,
    keyEncoding: 'binary',
    encoding: 'binary',
    maxDbs: 64,
    readOnly: true,
  });
  // listed first, since opening one while the main database is being read fails
  const names = databaseNames(root);
  const databases = new Map(
    names.map((name) => [
      name,
      root.openDB<Buffer, Buffer>({ name, keyEncoding: 'binary', encoding: 'binary' }),
    ]),
  );
  return { root, databases };
}

/**
 * The child: writes the acknowledged position the index at `path` holds (a line of JSON, on a pipe:
 * written before any page that could end the child is read, and kept by a rebuild), walks its trees,
 * then reads every entry of every sub-database.
 */
function readEveryEntry(path: string): void {
  const { databases } = openEveryDatabase(path);
  const meta = databases.get('meta');
  const acknowledged = meta && storedAcknowledged(meta);
  if (acknowledged) process.stdout.write(`${cursorToJson(acknowledged)}\n`);
  const problem = lmdbTreesProblem(join(path, 'data.mdb'));
  if (problem) throw new Error(problem);
  for (const [name, db] of databases) {
    let read = 0;
    for (const _ of db.getRange()) read++;
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
