/**
 * The file operations the journal uses, behind a small interface: node:fs in the calendar, and in
 * tests a layer that simulates a power cut (test/helpers/power-cut-fault-injector.ts), since a
 * killed process keeps the page cache and cannot show a missing fsync.
 * @module
 */
import { mkdir, open, readdir, rename, unlink } from 'node:fs/promises';

/** An open file: node's FileHandle is one. */
export interface JournalFile {
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  /** Writes `buffer` from `offset` at the end of a file opened with 'a' (at the file position otherwise). */
  write(buffer: Uint8Array, offset: number): Promise<{ bytesWritten: number }>;
  /** fdatasync: the written bytes and the size are on disk when this resolves. */
  datasync(): Promise<void>;
  sync(): Promise<void>;
  truncate(length: number): Promise<void>;
  stat(): Promise<{ size: number }>;
  close(): Promise<void>;
}

export interface JournalFiles {
  open(path: string, flags: 'r' | 'r+' | 'a' | 'wx'): Promise<JournalFile>;
  readdir(dir: string): Promise<string[]>;
  /** Creates `dir` and any missing parents. */
  mkdir(dir: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** Renames a file within its directory (`otsd reindex --accept-loss` setting segments aside). */
  rename(from: string, to: string): Promise<void>;
  /** fsync of a directory: the files created in it or removed from it stay so after a power cut. */
  syncDirectory(dir: string): Promise<void>;
}

export const nodeFiles: JournalFiles = {
  open: (path, flags) => open(path, flags),
  readdir: (dir) => readdir(dir),
  mkdir: async (dir) => {
    await mkdir(dir, { recursive: true });
  },
  unlink: (path) => unlink(path),
  rename: (from, to) => rename(from, to),
  syncDirectory: async (dir) => {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
};

/** Writes all of `bytes` (a write may take only a part). */
export async function writeAll(file: JournalFile, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.byteLength) done += (await file.write(bytes, done)).bytesWritten;
}

/** The bytes of `path` from `offset` up to `end`, or fewer where the file ends first; `end` defaults to its size. */
export async function readFileRange(
  files: JournalFiles,
  path: string,
  offset = 0,
  end?: number,
): Promise<Uint8Array> {
  const handle = await files.open(path, 'r');
  try {
    return await readRange(handle, offset, end ?? (await handle.stat()).size);
  } finally {
    await handle.close();
  }
}

/** The bytes of open `file` from `offset` up to `end`, or fewer where the file ends first. */
export async function readRange(file: JournalFile, offset: number, end: number): Promise<Uint8Array> {
  const bytes = new Uint8Array(Math.max(0, end - offset));
  let done = 0;
  while (done < bytes.byteLength) {
    const { bytesRead } = await file.read(bytes, done, bytes.byteLength - done, offset + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return bytes.subarray(0, done);
}
