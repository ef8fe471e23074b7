/**
 * Reading every page of an index's LMDB file in a child process, before otsd maps it: LMDB trusts the
 * pages it follows, and a damaged one can end the process that reads it with SIGSEGV and no message.
 * The child reads every entry, key and value, of every sub-database (so every branch, leaf and
 * overflow page), and checks it read as many as LMDB counts; it failing or dying tells the index is
 * damaged, and otsd goes on unharmed. About a
 * second per few million entries.
 * @module
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type Database, open, type RootDatabase } from 'lmdb';

const SELF = fileURLToPath(import.meta.url);
/** Most of the child's error text kept (an LMDB message and a line or two). */
const MAX_ERROR_CHARS = 500;

/** Why the index at `path` cannot be read through, or undefined when every page reads. */
export function indexPagesProblem(path: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(process.execPath, [SELF, path], { maxBuffer: 64 * 1024 }, (error, _stdout, stderr) => {
      if (!error) return resolve(undefined);
      const why = error.signal
        ? `ended with ${error.signal}`
        : `failed: ${stderr.trim().slice(0, MAX_ERROR_CHARS)}`;
      resolve(`reading every page of it ${why}`);
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
  // LMDB stores each sub-database's name with its terminating NUL; listed first, since opening one
  // while the main database is being read fails
  const names = [...root.getKeys()].map((key) => key.toString('utf8').replace(/\0$/, ''));
  const databases = new Map(
    names.map((name) => [
      name,
      root.openDB<Buffer, Buffer>({ name, keyEncoding: 'binary', encoding: 'binary' }),
    ]),
  );
  return { root, databases };
}

/** The child: reads every entry of every sub-database of the index at `path`. */
function readEveryEntry(path: string): void {
  for (const [name, db] of openEveryDatabase(path).databases) {
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
