/**
 * A fault injector for the journal's file layer (JournalFiles): real files through node:fs, but while
 * the disk is "full" every write fails with ENOSPC, as on a full file system, after a first write that
 * takes half of what it was given (a full disk ends a write short, leaving part of a batch in the file).
 * For machines where no small file system can be mounted; test/faults/disk-full.test.ts fills a real one.
 */
import { type JournalFile, type JournalFiles, nodeFiles } from '../../src/journal/files.js';

function noSpace(): Error {
  return Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
}

export class DiskFullFaultInjector implements JournalFiles {
  private full = false;
  private partialWriteDone = false;
  /** Writes refused since the disk filled. */
  refusedWrites = 0;

  /** From now on every write fails (after one short write). */
  fill(): void {
    this.full = true;
    this.partialWriteDone = false;
  }

  /** Writes succeed again. */
  free(): void {
    this.full = false;
  }

  async open(path: string, flags: 'r' | 'r+' | 'a' | 'wx'): Promise<JournalFile> {
    const file = await nodeFiles.open(path, flags);
    return {
      read: (buffer, offset, length, position) => file.read(buffer, offset, length, position),
      write: async (buffer, offset) => {
        if (!this.full) return file.write(buffer, offset);
        const rest = buffer.byteLength - offset;
        if (!this.partialWriteDone && rest > 1) {
          this.partialWriteDone = true;
          return file.write(buffer.subarray(0, offset + Math.floor(rest / 2)), offset);
        }
        this.refusedWrites++;
        throw noSpace();
      },
      datasync: () => file.datasync(),
      sync: () => file.sync(),
      truncate: (length) => file.truncate(length),
      stat: () => file.stat(),
      close: () => file.close(),
    };
  }

  readdir(dir: string): Promise<string[]> {
    return nodeFiles.readdir(dir);
  }

  mkdir(dir: string): Promise<void> {
    return nodeFiles.mkdir(dir);
  }

  unlink(path: string): Promise<void> {
    return nodeFiles.unlink(path);
  }

  rename(from: string, to: string): Promise<void> {
    return nodeFiles.rename(from, to);
  }

  syncDirectory(dir: string): Promise<void> {
    return nodeFiles.syncDirectory(dir);
  }
}
