/**
 * The systemd notify protocol, with a real NOTIFY_SOCKET made by the test: READY=1 once serving,
 * EXTEND_TIMEOUT_USEC while the index's file is checked and while it catches up, WATCHDOG=1 pings,
 * STOPPING=1 on SIGTERM.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Calendar } from '../../src/calendar/calendar.js';
import { CATCH_UP_BATCH } from '../../src/index/catch-up.js';
import { Journal } from '../../src/journal/journal.js';
import { RecordKind } from '../../src/journal/record.js';
import { sha256 } from '../../src/ots/index.js';
import { OTSD_MAIN, startCalendarProcess } from '../helpers/calendar-process.js';
import { STARTUP_TIMEOUT_MS, spawnTracked, type TrackedChild } from '../helpers/child-process.js';
import { notifyUnavailable, startNotifySocket } from '../helpers/notify-socket.js';
import { requireTools } from '../helpers/require-tools.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';

describe('deploy/otsd.service', () => {
  it('passes systemd-analyze verify without a warning, and keeps the settings otsd relies on', (t) => {
    if (
      !requireTools(
        t,
        existsSync('/usr/bin/systemd-analyze')
          ? undefined
          : 'systemd-analyze missing (Debian package systemd)',
      )
    )
      return;
    const unit = fileURLToPath(new URL('../../../deploy/otsd.service', import.meta.url));
    const result = spawnSync('/usr/bin/systemd-analyze', ['verify', unit], { encoding: 'utf8' });
    assert.equal(result.status, 0);
    assert.equal(`${result.stdout}${result.stderr}`.trim(), '');
    const text = readFileSync(unit, 'utf8');
    for (const line of [
      'Type=notify',
      'NotifyAccess=all',
      'WatchdogSec=',
      'Restart=on-failure',
      'StateDirectory=otsd',
      'User=otsd',
      // RSS back near its start after a flood (docs/operating.md, Memory)
      'Environment=MALLOC_ARENA_MAX=2',
    ]) {
      assert.ok(text.includes(line), line);
    }
    assert.doesNotMatch(text, /^MemoryDenyWriteExecute/m, 'V8 needs writable executable memory');
  });
});

const ROLES: { role: string; args: string[]; ready: RegExp }[] = [
  {
    role: 'a calendar',
    args: [],
    ready: /READY=1 STATUS=serving http:\/\/127\.0\.0\.1:\d+, 0 journal records/,
  },
  {
    role: 'an aggregator',
    args: ['--role', 'aggregator', '--upstream', 'http://127.0.0.1:9'],
    ready: /READY=1 STATUS=aggregating on http:\/\/127\.0\.0\.1:\d+ for 1 calendar\(s\)/,
  },
];

/** Starts `otsd run` with NOTIFY_SOCKET (and `env`) set for it alone. */
async function startNotifying(
  dataDir: string,
  socket: string,
  args: string[],
  env: Record<string, string> = {},
) {
  const vars = { NOTIFY_SOCKET: socket, ...env };
  Object.assign(process.env, vars);
  try {
    return await startCalendarProcess(dataDir, args);
  } finally {
    for (const name of Object.keys(vars)) delete process.env[name];
  }
}

describe('systemd notify', () => {
  for (const { role, args, ready } of ROLES)
    it(`${role} says READY=1 when serving, pings the watchdog, and STOPPING=1 on SIGTERM`, async (t) => {
      if (!requireTools(t, notifyUnavailable())) return;
      const dir = tempDir(t);
      const socket = await startNotifySocket(t, dir);
      const calendar = await startNotifying(join(dir, 'data'), socket.path, args, {
        WATCHDOG_USEC: '400000',
      });
      t.after(() => calendar.stop());
      await waitFor('READY=1', () => (ready.test(socket.messages()) ? true : undefined));
      await waitFor('watchdog pings', () =>
        (socket.messages().match(/WATCHDOG=1/g) ?? []).length >= 2 ? true : undefined,
      );
      assert.equal(await calendar.stop('SIGTERM'), 0);
      await waitFor('STOPPING=1', () => (socket.messages().includes('STOPPING=1') ? true : undefined));
      assert.match(socket.messages(), new RegExp(`MAINPID=${calendar.child.pid}`));
    });

  it('asks for more time (EXTEND_TIMEOUT_USEC) while the index catches up with a long journal, then READY=1', async (t) => {
    if (!requireTools(t, notifyUnavailable())) return;
    const dir = tempDir(t);
    const dataDir = join(dir, 'data');
    // a journal of two and a half catch-up batches and no index: the index catches up at start, a
    // batch at a time, and says so after each
    const records = 2.5 * CATCH_UP_BATCH;
    const journal = await Journal.open({ dir: join(dataDir, 'journal'), create: true });
    await Promise.all(
      Array.from({ length: records }, (_, i) => journal.append(RecordKind.Commitment, sha256(u32be(i)))),
    );
    await journal.close();
    await assertExtendedBeforeReady(
      t,
      dataDir,
      `EXTEND_TIMEOUT_USEC=60000000 STATUS=index: catching up, ${CATCH_UP_BATCH} of ${records} journal records`,
    );
  });

  it('asks for more time while the index file is checked at start, before it is opened', async (t) => {
    if (!requireTools(t, notifyUnavailable())) return;
    const dir = tempDir(t);
    const dataDir = join(dir, 'data');
    const made = await Calendar.open({ dataDir, uri: 'http://127.0.0.1:14789', create: true });
    await made.commit(sha256(u32be(1)));
    await made.close();
    await assertExtendedBeforeReady(
      t,
      dataDir,
      'EXTEND_TIMEOUT_USEC=60000000 STATUS=index: checking its file before it is opened',
    );
  });

  it('exits 0 when the unit stops while the index file is checked at start, the index as it was', async (t) => {
    if (!requireTools(t, notifyUnavailable())) return;
    const { otsd, socket, index, before } = await checkingAtStart(t);
    // as systemd stops a unit: SIGTERM to every process of it, otsd and the child reading its index
    assert.equal(await otsd.stop('SIGTERM'), 0, otsd.output());
    assert.match(otsd.output(), /otsd: stopped while it checked the index at start/);
    assert.doesNotMatch(socket.messages(), /READY=1/);
    assert.ok(readFileSync(index).equals(before), 'the index is left as it was');
    assert.ok(!existsSync(join(dirname(index), 'check-started')));
  });

  it('exits 1 when the child checking the index alone is ended by SIGTERM (an out-of-memory killer), for a restart', async (t) => {
    if (!requireTools(t, notifyUnavailable())) return;
    const { otsd } = await checkingAtStart(t);
    const pid = otsd.child.pid as number;
    const checker = await waitForTight('the child checking the index', () => checkerOf(pid), otsd);
    process.kill(checker, 'SIGTERM');
    assert.equal(await otsd.exited, 1, otsd.output());
    assert.match(otsd.output(), /its check at start was stopped \(SIGTERM\)/);
  });
});

/** Starts otsd on `dataDir` with a notify socket; asserts it sent `extension` before READY=1. */
async function assertExtendedBeforeReady(t: TestContext, dataDir: string, extension: string): Promise<void> {
  const socket = await startNotifySocket(t, dirname(dataDir));
  const calendar = await startNotifying(dataDir, socket.path, []);
  t.after(() => calendar.stop());
  await waitFor('READY=1', () => (socket.messages().includes('READY=1') ? true : undefined));
  const lines = socket.messages().split('\n');
  const extend = lines.findIndex((l) => l.includes(extension));
  assert.ok(extend >= 0, socket.messages());
  assert.ok(extend < lines.findIndex((l) => l.includes('READY=1')), 'before READY=1');
}

/**
 * A calendar whose `otsd run` (the leader of its own process group, so that a signal reaches it and
 * its children as systemd's reaches a unit's) has told NOTIFY_SOCKET it checks the index's file: the
 * child doing it then reads for a few hundred ms.
 */
async function checkingAtStart(t: TestContext) {
  const dir = tempDir(t);
  const dataDir = join(dir, 'data');
  const made = await Calendar.open({ dataDir, uri: 'http://127.0.0.1:14789', create: true });
  await made.commit(sha256(u32be(1)));
  await made.close();
  const index = join(dataDir, 'index', 'data.mdb');
  const before = readFileSync(index);
  const socket = await startNotifySocket(t, dir);
  const otsd = spawnTracked(
    process.execPath,
    [OTSD_MAIN, 'run', '--data-dir', dataDir, '--listen', '127.0.0.1:0', '--uri', 'http://127.0.0.1:14789'],
    { detached: true, env: { ...process.env, NOTIFY_SOCKET: socket.path } },
  );
  t.after(() => otsd.stop('SIGKILL'));
  await waitForTight(
    'the index check told',
    () => (socket.messages().includes('STATUS=index: checking its file') ? true : undefined),
    otsd,
  );
  return { otsd, socket, index, before };
}

/** waitFor, polling every 5 ms (the child lives a few hundred), while `process` runs. */
async function waitForTight<T>(what: string, check: () => T | undefined, process: TrackedChild): Promise<T> {
  for (let waited = 0; waited < STARTUP_TIMEOUT_MS; waited += 5) {
    process.assertRunning(what);
    const value = check();
    if (value !== undefined) return value;
    await sleep(5);
  }
  throw new Error(
    `${what}: not seen within ${STARTUP_TIMEOUT_MS / 1000} s; its output:\n${process.output()}`,
  );
}

/** The child of `pid` that reads the index's pages (src/index/read-pages.ts), from /proc. */
function checkerOf(pid: number): number | undefined {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // the fields after the command's closing parenthesis: state, then the parent's pid
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== pid) continue;
      // a child just forked runs otsd's code until it execs node on read-pages.js
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes('read-pages')) return Number(name);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

function u32be(n: number): Uint8Array {
  return new Uint8Array([n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
}
