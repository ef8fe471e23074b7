/**
 * A small file system of its own (tmpfs), to fill for real: mounting needs root, as the tests have
 * here and in CI. Where the mount is refused the test is skipped with the reason, in CI as well (a
 * runner may forbid mounts); the journal's own tests cover a full disk through a fault injector
 * (test/helpers/disk-full-fault-injector.ts) everywhere.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

export interface SmallDisk {
  dir: string;
  /** Writes a file until the disk is full; resolves with the bytes it took. */
  fill(): Promise<number>;
  /** Removes what fill() wrote. */
  free(): Promise<void>;
}

const FILLER = 'filler';

/** A tmpfs of `megabytes` mounted for the test (unmounted after it), or undefined when the test was skipped. */
export function mountSmallDisk(t: TestContext, megabytes: number): SmallDisk | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'otsd-small-disk-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${megabytes}m`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    const reason = ((e as { stderr?: Buffer }).stderr?.toString() || (e as Error).message).trim();
    t.skip(`cannot mount a small tmpfs here (it needs root): ${reason}`);
    return undefined;
  }
  t.after(() => {
    execFileSync('umount', [dir], { stdio: 'pipe' });
    rmSync(dir, { recursive: true, force: true });
  });
  const filler = join(dir, FILLER);
  return {
    dir,
    fill: async () => {
      const handle = await open(filler, 'a');
      const chunk = Buffer.alloc(64 * 1024);
      let bytes = 0;
      try {
        for (;;) bytes += (await handle.write(chunk)).bytesWritten;
      } catch (e) {
        if ((e as { code?: string }).code !== 'ENOSPC') throw e;
      } finally {
        await handle.close();
      }
      return bytes;
    },
    free: () => unlink(filler),
  };
}
