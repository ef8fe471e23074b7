/**
 * One writer per data directory (an otsd, a reindex, an `otsd/mirror`): two would interleave journal
 * records. The lock is the kernel's: an exclusive lock on the open file `otsd.lock` (fcntl
 * F_OFD_SETLK on Linux, flock(2) elsewhere), held for as long as the process keeps the file open, so
 * the kernel drops it when the process ends, however it ends (SIGKILL, OOM kill, power cut). Nothing is inferred from PIDs: the
 * holder writes its PID into the file for the refusal message only, and a file left behind by a dead
 * process is simply locked again, even when the new process has the same PID (PID 1 in a container).
 * @module
 */
import { closeSync, ftruncateSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { tryLock } from 'fs-native-extensions';

export const LOCK_FILE = 'otsd.lock';

export class DataDirInUseError extends Error {
  override name = 'DataDirInUseError';
}

/** Longest PID text read back from a held lock file (PIDs are at most 7 digits on Linux). */
const MAX_PID_CHARS = 20;

/**
 * Takes the lock of `dataDir` (creating the directory) or throws DataDirInUseError at once; returns
 * the function that releases it. The file stays: removing it would let two processes lock two
 * different files of the same name.
 */
export function lockDataDir(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, LOCK_FILE);
  // Node opens files close-on-exec, so a child (the embedded bcoin node) never inherits the lock
  const fd = openSync(path, 'a+', 0o644);
  let locked: boolean;
  try {
    locked = tryLock(fd);
  } catch (e) {
    closeSync(fd);
    throw new Error(`data dir ${dataDir}: cannot lock ${path}: ${(e as Error).message}`);
  }
  if (!locked) {
    const text = Buffer.alloc(MAX_PID_CHARS);
    const pid = text.toString('utf8', 0, readSync(fd, text, 0, MAX_PID_CHARS, 0)).trim();
    closeSync(fd);
    throw new DataDirInUseError(
      `data dir ${dataDir} is in use by another otsd${/^\d+$/.test(pid) ? ` (pid ${pid})` : ''}`,
    );
  }
  ftruncateSync(fd, 0);
  writeSync(fd, `${process.pid}\n`);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    ftruncateSync(fd, 0);
    closeSync(fd);
  };
}
