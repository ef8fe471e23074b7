/**
 * Stops that are not a SIGTERM under load (test/faults/shutdown.test.ts) or a kill -9 under load
 * (test/faults/kill.test.ts): a SIGTERM during start-up is kept until otsd is up, and a journal that
 * stops being able to write stops otsd for a restart that keeps every acknowledged digest.
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
  it('stops otsd with status 1 for a restart, which keeps every acknowledged digest', async (t) => {
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
    const calendar = await startCalendarProcess(dataDir, ['--round-interval', '20', '--log-level', 'warn']);
    t.after(() => calendar.stop('SIGKILL'));
    const load = postDigests(() => calendar.url, CLIENTS, 5000);
    await sleep(300);
    const segment = join(dataDir, 'journal', '00000000000000000000.seg');
    execFileSync('prlimit', [
      '--pid',
      String(calendar.child.pid),
      `--fsize=${statSync(segment).size + 4096}`,
    ]);
    let code: number;
    try {
      code = await waitFor(
        'otsd to exit',
        () => calendar.child.exitCode ?? undefined,
        30_000,
        calendar.output,
      );
    } finally {
      await load.stop(); // the clients stop on every path
    }
    assert.equal(code, 1, calendar.output());
    assert.match(calendar.output(), /journal: write failed: EFBIG/);
    assert.match(calendar.output(), /the journal stopped taking appends; exiting for a restart/);
    assert.ok(load.acks.length >= CLIENTS, `only ${load.acks.length} acknowledged`);
    assert.deepEqual(await lostInDataDir(dataDir, load.acks), []);
  });
});
