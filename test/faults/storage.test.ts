/**
 * Damaged storage (the reliability report's 2b-2d): otsd runs under load and is killed with -9, then
 * its stopped data dir is damaged and it is started again. A journal cut at a random offset is
 * refused while it lacks records the index applied (and starts again once the segment is put back);
 * a bit flipped at a random offset of the journal is refused at start or found by the full check
 * after it (and starts again once the bit is put back); garbage at a random offset of the index, at
 * its start too, bits flipped in it, and a deleted index are rebuilt from the journal. Nothing
 * acknowledged is lost.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fstatSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { SEGMENT_HEADER_BYTES } from '../../src/journal/segment.js';
import { type CalendarProcess, startCalendarProcess } from '../helpers/calendar-process.js';
import { freePort } from '../helpers/free-port.js';
import { tempDir } from '../helpers/temp-dir.js';
import { lostInDataDir, lostOverHttp } from './check.js';
import { type DigestLoad, postDigests } from './load.js';
import { scale } from './soak.js';
import { reportFault } from './table.js';

const TRIES = scale(3, 10);
const REBUILT = 'index: damaged; rebuilding it from the journal';
const ARGS = ['--round-interval', '10', '--log-level', 'warn'];

/** A node on `dataDir` under load: start, let it acknowledge for a while, kill -9. */
async function killUnderLoad(dataDir: string, port: number): Promise<void> {
  const calendar = await startCalendarProcess(dataDir, ARGS, port);
  await sleep(400 + Math.random() * scale(600, 2000));
  calendar.child.kill('SIGKILL');
  await calendar.stop();
}

/** A case: `tries` rounds of load, kill -9 and `damage` (which starts the node again and says how it went). */
async function storageCase(
  t: Pick<TestContext, 'after'>,
  name: string,
  damage: (dataDir: string, port: number) => Promise<string>,
): Promise<void> {
  const dataDir = tempDir(t);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const load: DigestLoad = postDigests(() => url, 8);
  const outcomes = new Map<string, number>();
  try {
    for (let i = 0; i < TRIES; i++) {
      await killUnderLoad(dataDir, port);
      const outcome = await damage(dataDir, port);
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
  } finally {
    await load.stop();
  }
  const calendar = await startCalendarProcess(dataDir, ARGS, port);
  const lost = new Set<string>();
  try {
    for (const a of await lostOverHttp(url, load.acks)) lost.add(a.digest);
  } finally {
    await calendar.stop('SIGTERM');
  }
  for (const a of await lostInDataDir(dataDir, load.acks)) lost.add(a.digest);
  const seen = [...outcomes].map(([outcome, n]) => `${outcome} ${n}`).join(', ');
  reportFault({
    case: name,
    tries: TRIES,
    acknowledged: load.acks.length,
    lost: lost.size,
    result: `${lost.size === 0 ? 'ok' : 'FAIL'} (${seen})`,
  });
  assert.equal(lost.size, 0);
  assert.ok(load.acks.length > 20, `only ${load.acks.length} digests were acknowledged`);
}

/** Starts the node; resolves with it, or with the output of a start that exited first. */
async function tryStart(dataDir: string, port: number): Promise<CalendarProcess | string> {
  try {
    return await startCalendarProcess(dataDir, ARGS, port);
  } catch (e) {
    return (e as Error).message;
  }
}

/**
 * Starts the node on a damaged index. LMDB may map a damaged page the start's check does not read
 * (its free list) and the process die of it (SIGBUS, SIGSEGV, or SIGABRT from one of LMDB's
 * assertions) while the check's marker is there: the next start, as systemd's restart, then rebuilds
 * the index without reading it. Resolves with the node that started, and whether a start crashed first.
 */
async function startSurvivingFreeListDamage(
  dataDir: string,
  port: number,
  what = 'damaged index',
): Promise<{ calendar: CalendarProcess; crashed: boolean }> {
  const started = await tryStart(dataDir, port);
  if (typeof started !== 'string') return { calendar: started, crashed: false };
  assert.match(started, /exited \((SIGBUS|SIGSEGV|SIGABRT)\)/, `${what}: ${started}`);
  const again = await tryStart(dataDir, port);
  assert.notEqual(typeof again, 'string', `${what}, the start after the crash: ${again}`);
  return { calendar: again as CalendarProcess, crashed: true };
}

/** How the full check after start ended: passed, found damage (otsd then exits for a restart), or otsd exited. */
async function fullCheckOutcome(calendar: CalendarProcess): Promise<string> {
  for (let waited = 0; waited < 60_000; waited += 100) {
    if (calendar.child.exitCode !== null) return `exited ${calendar.child.exitCode}`;
    const status = await fetch(`${calendar.url}/status`, { headers: { accept: 'application/json' } })
      .then((res) => res.json() as Promise<{ index_check?: string | null }>)
      .catch(() => undefined);
    const state = status?.index_check;
    if (state && state !== 'running') return state;
    await sleep(100);
  }
  throw new Error(`the full check did not end within 60 s\n${calendar.output()}`);
}

/** Flips bit `bit` of the byte at `at` of `file`. */
function flipBit(file: string, at: number, bit: number): void {
  const fd = openSync(file, 'r+');
  const byte = Buffer.alloc(1);
  readSync(fd, byte, 0, 1, at);
  byte[0] = (byte[0] as number) ^ (1 << bit);
  writeSync(fd, byte, 0, 1, at);
  closeSync(fd);
}

const segments = (dataDir: string) =>
  readdirSync(join(dataDir, 'journal'))
    .filter((n) => n.endsWith('.seg'))
    .sort()
    .map((n) => join(dataDir, 'journal', n));

const lastSegment = (dataDir: string) =>
  join(
    dataDir,
    'journal',
    readdirSync(join(dataDir, 'journal'))
      .filter((n) => n.endsWith('.seg'))
      .sort()
      .at(-1) as string,
  );

describe('damaged storage', () => {
  it('refuses a journal cut at a random offset while it lacks applied records, and starts once it is restored', async (t) => {
    await storageCase(t, 'journal truncated at a random offset', async (dataDir, port) => {
      const segment = lastSegment(dataDir);
      const backup = readFileSync(segment);
      const cut =
        SEGMENT_HEADER_BYTES + Math.floor(Math.random() * (backup.byteLength - SEGMENT_HEADER_BYTES));
      truncateSync(segment, cut);
      const started = await tryStart(dataDir, port);
      if (typeof started !== 'string') {
        // the cut fell in a tail the index had not applied: never acknowledged, cut off as a crash's
        await started.stop('SIGTERM');
        return 'cut in an unacknowledged tail';
      }
      assert.match(
        started,
        /records \d+\.\.\d+ are missing: .*Refusing to start\. Restore the journal's segment files .*otsd reindex --accept-loss/,
      );
      assert.equal(readFileSync(segment).byteLength, cut, 'a refused start must leave the journal as it is');
      writeFileSync(segment, backup);
      return 'refused';
    });
  });

  it('refuses a journal with a bit flipped at a random offset, or finds it after start, and starts once it is put back', async (t) => {
    await storageCase(t, 'journal bit flipped at a random offset', async (dataDir, port) => {
      const all = segments(dataDir);
      const segment = all[Math.floor(Math.random() * all.length)] as string;
      const at = Math.floor(Math.random() * statSync(segment).size);
      const bit = Math.floor(Math.random() * 8);
      flipBit(segment, at, bit);
      const started = await tryStart(dataDir, port);
      if (typeof started === 'string') {
        assert.match(started, /journal|segment|record/, started);
        flipBit(segment, at, bit);
        return 'refused at start';
      }
      const outcome = await fullCheckOutcome(started);
      await started.stop('SIGTERM');
      if (outcome === 'journal damaged') {
        // found after start: nothing was cut, the bit is where it was
        flipBit(segment, at, bit);
        return 'found by the full check';
      }
      assert.equal(outcome, 'passed', started.output());
      // in a tail no record the index applied was in (cut off as a crash's), or in reserved header bytes
      return 'harmless or in an unacknowledged tail';
    });
  });

  it('rebuilds an index with bits flipped at random offsets, at start or after the full check finds them', async (t) => {
    await storageCase(t, 'index bits flipped (8, random offsets)', async (dataDir, port) => {
      const file = join(dataDir, 'index', 'data.mdb');
      const size = statSync(file).size;
      for (let i = 0; i < 8; i++)
        flipBit(file, Math.floor(Math.random() * size), Math.floor(Math.random() * 8));
      const { calendar, crashed } = await startSurvivingFreeListDamage(dataDir, port);
      const rebuilt = calendar.output().includes(REBUILT);
      if (crashed) {
        assert.ok(rebuilt, calendar.output());
        await calendar.stop('SIGTERM');
        return 'crashed at start; rebuilt by the next start';
      }
      const outcome = await fullCheckOutcome(calendar);
      await calendar.stop('SIGTERM');
      if (outcome === 'exited 1') {
        assert.match(calendar.output(), /the index is damaged; exiting for a restart/);
        return 'found after start: exited for the restart that rebuilds it';
      }
      assert.equal(outcome, 'passed', calendar.output());
      return rebuilt ? 'rebuilt at start' : 'in bytes no lookup reads';
    });
  });

  it('rebuilds an index with 8 KiB of garbage at a random offset, or at its start', async (t) => {
    let tries = 0;
    await storageCase(t, 'index garbage (8 KiB, random offset)', async (dataDir, port) => {
      const file = join(dataDir, 'index', 'data.mdb');
      const fd = openSync(file, 'r+');
      const size = fstatSync(fd).size;
      const at = tries++ === 0 ? 0 : Math.floor(Math.random() * Math.max(1, size - 8192));
      writeSync(fd, randomBytes(8192), 0, 8192, at);
      closeSync(fd);
      const { calendar, crashed } = await startSurvivingFreeListDamage(dataDir, port, `garbage at ${at}`);
      const rebuilt = calendar.output().includes(REBUILT);
      await calendar.stop('SIGTERM');
      if (crashed) {
        assert.ok(rebuilt, calendar.output());
        return 'crashed at start; rebuilt by the next start';
      }
      return rebuilt ? 'rebuilt' : 'in pages not in use';
    });
  });

  it('rebuilds a deleted index', async (t) => {
    await storageCase(t, 'index deleted', async (dataDir, port) => {
      rmSync(join(dataDir, 'index'), { recursive: true });
      const calendar = await startCalendarProcess(dataDir, ARGS, port);
      await calendar.stop('SIGTERM');
      return 'rebuilt';
    });
  });
});
