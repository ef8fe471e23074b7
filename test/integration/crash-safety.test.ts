/**
 * Stops that are not a SIGTERM under load (test/faults/shutdown.test.ts) or a kill -9 under load
 * (test/faults/kill.test.ts): a SIGTERM during start-up is kept until otsd is up, and a journal that
 * cannot write for a while (a file size limit here; a full disk: test/faults/disk-full.test.ts) is
 * waited out without a restart, keeping every acknowledged digest.
 * (Power cuts: test/journal/power-cut.test.ts.)
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Journal } from '../../src/journal/journal.js';
import { lostInDataDir } from '../faults/check.js';
import { postDigests } from '../faults/load.js';
import { OTSD_MAIN, startCalendarProcess } from '../helpers/calendar-process.js';
import { spawnTracked } from '../helpers/child-process.js';
import { requireTools } from '../helpers/require-tools.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';

const CLIENTS = 16;

describe('a stop during start-up', () => {
  it('a SIGTERM that arrives while otsd starts is kept: otsd stops cleanly once it is up', async (t) => {
    const dataDir = tempDir(t);
    const otsd = spawnTracked(process.execPath, [
      OTSD_MAIN,
      'run',
      '--data-dir',
      dataDir,
      '--listen',
      '127.0.0.1:0',
    ]);
    t.after(() => otsd.stop('SIGKILL'));
    await otsd.waitForOutput(/journal: opened/, 'otsd run: the journal opened');
    otsd.child.kill('SIGTERM');
    assert.equal(await otsd.exited, 0, otsd.output());
    assert.match(otsd.output(), /otsd: stopping[\s\S]*calendar: stopped/);
  });
});

describe('a journal that cannot write', () => {
  it('is waited out: otsd refuses appends while the write fails, takes them again once it can, and keeps every acknowledged digest', async (t) => {
    if (
      !requireTools(t, existsSync('/usr/bin/prlimit') ? undefined : 'prlimit (util-linux) is not installed')
    )
      return;
    const dataDir = tempDir(t);
    // a journal much larger than the index (records of a kind the index skips): the file size limit
    // set below stops journal writes, not LMDB's
    const filler = await Journal.open({ dir: join(dataDir, 'journal'), create: true });
    for (let i = 0; i < 32; i++) await filler.append(0x7f, new Uint8Array(64 * 1024));
    await filler.close();
    const calendar = await startCalendarProcess(dataDir, ['--round-interval', '20', '--log-level', 'info']);
    t.after(() => calendar.stop('SIGKILL'));
    const load = postDigests(() => calendar.url, CLIENTS, 5000);
    try {
      await sleep(300);
      const segment = join(dataDir, 'journal', '00000000000000000000.seg');
      const limit = (fsize: string) =>
        execFileSync('prlimit', ['--pid', String(calendar.child.pid), `--fsize=${fsize}`]);
      // the soft limit only: it may be raised again without privilege
      limit(`${statSync(segment).size + 4096}:`);
      await waitFor(
        'the journal to stop taking appends',
        () => (/journal: not taking appends[^"]*EFBIG/.test(calendar.output()) ? true : undefined),
        30_000,
        calendar.output,
      );
      assert.equal((await fetch(`${calendar.url}/status`)).status, 503, 'the health check says so');
      limit('unlimited:');
      await waitFor(
        'the journal to take appends again',
        () => (/journal: writing again; taking appends/.test(calendar.output()) ? true : undefined),
        30_000,
        calendar.output,
      );
      const after = load.acks.length;
      await waitFor(
        'digests acknowledged again',
        () => (load.acks.length > after + CLIENTS ? true : undefined),
        30_000,
        calendar.output,
      );
    } finally {
      await load.stop(); // the clients stop on every path
    }
    assert.equal(calendar.child.exitCode, null, 'otsd kept running');
    await calendar.stop();
    assert.deepEqual(await lostInDataDir(dataDir, load.acks), []);
  });
});
