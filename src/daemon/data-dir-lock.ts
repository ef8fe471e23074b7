/**
 * One otsd per data directory: two writers would interleave journal records. The lock is a file
 * holding the owner's PID, created exclusively; a lock whose process is gone (after a crash or
 * SIGKILL) is taken over.
 * @module
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const LOCK_FILE = 'otsd.lock';

export class DataDirInUseError extends Error {
  override name = 'DataDirInUseError';
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the lock of `dataDir` (creating the directory); returns the function that releases it. */
export function lockDataDir(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: 'wx', mode: 0o644 });
      return () => rmSync(path, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number.parseInt(readFileSync(path, 'utf8'), 10);
      if (Number.isInteger(pid) && alive(pid)) {
        throw new DataDirInUseError(
          `data dir ${dataDir} is in use by another otsd (pid ${pid}); if it is not, remove ${path}`,
        );
      }
      rmSync(path, { force: true });
    }
  }
  throw new DataDirInUseError(`data dir ${dataDir}: could not take ${path}`);
}
