/**
 * The damaged-storage fault cases' common steps (storage-journal.test.ts, storage-index.test.ts):
 * otsd runs under load and is killed with -9, then its stopped data dir is damaged and it is started
 * again; nothing acknowledged may be lost. Two files, so that each stays within the test command's
 * per-file timeout at the soak's ten tries a case on a loaded machine.
 * @module
 */
import assert from 'node:assert/strict';
import { closeSync, openSync, readdirSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type CalendarProcess, startCalendarProcess } from '../helpers/calendar-process.js';
import { freePort } from '../helpers/free-port.js';
import { tempDir } from '../helpers/temp-dir.js';
import { lostAfterRestart } from './check.js';
import { type DigestLoad, postDigests } from './load.js';
import { scale } from './soak.js';
import { reportFault } from './table.js';

const TRIES = scale(3, 10);
export const REBUILT = 'index: damaged; rebuilding it from the journal';
export const ARGS = ['--round-interval', '10', '--log-level', 'warn'];

/**
 * A node on `dataDir` under load: start, let it acknowledge for a while, kill -9. `indexDamage`: what
 * was last done to its index, for a start that may crash of it.
 */
async function killUnderLoad(dataDir: string, port: number, indexDamage: string | undefined): Promise<void> {
  // damage neither the start's walk nor its child reads may pass a start and be touched by a later one
  const calendar =
    indexDamage !== undefined
      ? (await startSurvivingIndexDamage(dataDir, port, `the start after the last damage (${indexDamage})`))
          .calendar
      : await startCalendarProcess(dataDir, ARGS, port);
  await sleep(400 + Math.random() * scale(600, 2000));
  calendar.child.kill('SIGKILL');
  await calendar.stop();
}

/**
 * A case: `tries` rounds of load, kill -9 and `damage` (which starts the node again and says how it went).
 * `damage` tells `noteDamage` where it damaged the data dir (its random offsets), for every later
 * failure message: so that a failure can be replayed.
 */
export async function storageCase(
  t: Pick<TestContext, 'after'>,
  name: string,
  damage: (dataDir: string, port: number, noteDamage: (what: string) => void) => Promise<string>,
  /** The damage is in the index's LMDB file: a start after it may crash once (see below). */
  damagedIndex = false,
): Promise<void> {
  const dataDir = tempDir(t);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const load: DigestLoad = postDigests(() => url, 8);
  const outcomes = new Map<string, number>();
  const damages: string[] = [];
  const damaged = () => `the damage done, by try: ${damages.join('; ') || 'none noted'}`;
  try {
    for (let i = 0; i < TRIES; i++) {
      await killUnderLoad(dataDir, port, damagedIndex ? (damages.at(-1) ?? 'none yet') : undefined);
      const outcome = await damage(dataDir, port, (what) => damages.push(`${i + 1}. ${what}`));
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
  } finally {
    await load.stop();
  }
  // the last try's damage may be in bytes its start did not read, and crash this start as any other
  const lost = damagedIndex
    ? (
        await survivingIndexCrash(`the final start (${damaged()})`, () =>
          lostAfterRestart(dataDir, port, ARGS, load.acks),
        )
      ).started
    : await lostAfterRestart(dataDir, port, ARGS, load.acks);
  const seen = [...outcomes].map(([outcome, n]) => `${outcome} ${n}`).join(', ');
  reportFault({
    case: name,
    tries: TRIES,
    acknowledged: load.acks.length,
    lost: lost.size,
    result: `${lost.size === 0 ? 'ok' : 'FAIL'} (${seen})`,
  });
  assert.equal(lost.size, 0, `${lost.size} acknowledged digests lost; ${damaged()}`);
  assert.ok(load.acks.length > 20, `only ${load.acks.length} digests were acknowledged; ${damaged()}`);
}

/** Starts the node; resolves with it, or with the output of a start that exited first. */
export async function tryStart(dataDir: string, port: number): Promise<CalendarProcess | string> {
  try {
    return await startCalendarProcess(dataDir, ARGS, port);
  } catch (e) {
    return (e as Error).message;
  }
}

/**
 * Runs `start`, which starts the node on a damaged index (and may go on to use it), and once more if
 * that start crashed. LMDB may meet damage the start's checks do not read (they walk its trees and free
 * list, and read every entry, not every byte LMDB keeps) and the process die of it (SIGBUS, SIGSEGV, or
 * SIGABRT from one of LMDB's assertions) while the check's marker is there: the next start, as
 * systemd's restart, then rebuilds the index without reading it. Resolves with what `start` resolved
 * with, and whether a start crashed first.
 */
async function survivingIndexCrash<T>(
  what: string,
  start: () => Promise<T>,
): Promise<{ started: T; crashed: boolean }> {
  try {
    return { started: await start(), crashed: false };
  } catch (e) {
    assert.match(
      (e as Error).message,
      /exited \((SIGBUS|SIGSEGV|SIGABRT)\)/,
      `${what}: ${(e as Error).message}`,
    );
  }
  try {
    return { started: await start(), crashed: true };
  } catch (e) {
    assert.fail(`${what}, the start after the crash: ${(e as Error).message}`);
  }
}

/** Starts the node on a damaged index, once more if that start crashed (see survivingIndexCrash). */
export async function startSurvivingIndexDamage(
  dataDir: string,
  port: number,
  what = 'damaged index',
): Promise<{ calendar: CalendarProcess; crashed: boolean }> {
  const { started, crashed } = await survivingIndexCrash(what, () =>
    startCalendarProcess(dataDir, ARGS, port),
  );
  return { calendar: started, crashed };
}

/** How the full check after start ended: passed, found damage (otsd then exits for a restart), or otsd exited or crashed. */
export async function fullCheckOutcome(calendar: CalendarProcess, damage?: string): Promise<string> {
  for (let waited = 0; waited < 60_000; waited += 100) {
    if (calendar.child.exitCode !== null) return `exited ${calendar.child.exitCode}`;
    if (calendar.child.signalCode !== null) return `ended by ${calendar.child.signalCode}`;
    const status = await fetch(`${calendar.url}/status`, { headers: { accept: 'application/json' } })
      .then((res) => res.json() as Promise<{ index_check?: string | null }>)
      .catch(() => undefined);
    const state = status?.index_check;
    if (state && state !== 'running') return state;
    await sleep(100);
  }
  throw new Error(
    `the full check did not end within 60 s${damage ? ` (after ${damage})` : ''}\n${calendar.output()}`,
  );
}

/** Flips bit `bit` of the byte at `at` of `file`. */
export function flipBit(file: string, at: number, bit: number): void {
  const fd = openSync(file, 'r+');
  const byte = Buffer.alloc(1);
  readSync(fd, byte, 0, 1, at);
  byte[0] = (byte[0] as number) ^ (1 << bit);
  writeSync(fd, byte, 0, 1, at);
  closeSync(fd);
}

export const segments = (dataDir: string) =>
  readdirSync(join(dataDir, 'journal'))
    .filter((n) => n.endsWith('.seg'))
    .sort()
    .map((n) => join(dataDir, 'journal', n));

export const lastSegment = (dataDir: string) =>
  join(
    dataDir,
    'journal',
    readdirSync(join(dataDir, 'journal'))
      .filter((n) => n.endsWith('.seg'))
      .sort()
      .at(-1) as string,
  );
