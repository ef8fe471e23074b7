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

/** A node on `dataDir` under load: start, let it acknowledge for a while, kill -9. */
async function killUnderLoad(dataDir: string, port: number, damagedIndex: boolean): Promise<void> {
  // damage neither the start's walk nor its child reads may pass a start and be touched by a later one
  const calendar = damagedIndex
    ? (await startSurvivingIndexDamage(dataDir, port, 'the start after a damaged index')).calendar
    : await startCalendarProcess(dataDir, ARGS, port);
  await sleep(400 + Math.random() * scale(600, 2000));
  calendar.child.kill('SIGKILL');
  await calendar.stop();
}

/** A case: `tries` rounds of load, kill -9 and `damage` (which starts the node again and says how it went). */
export async function storageCase(
  t: Pick<TestContext, 'after'>,
  name: string,
  damage: (dataDir: string, port: number) => Promise<string>,
  /** The damage is in the index's LMDB file: a start after it may crash once (see below). */
  damagedIndex = false,
): Promise<void> {
  const dataDir = tempDir(t);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const load: DigestLoad = postDigests(() => url, 8);
  const outcomes = new Map<string, number>();
  try {
    for (let i = 0; i < TRIES; i++) {
      await killUnderLoad(dataDir, port, damagedIndex);
      const outcome = await damage(dataDir, port);
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
  } finally {
    await load.stop();
  }
  const lost = await lostAfterRestart(dataDir, port, ARGS, load.acks);
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
export async function tryStart(dataDir: string, port: number): Promise<CalendarProcess | string> {
  try {
    return await startCalendarProcess(dataDir, ARGS, port);
  } catch (e) {
    return (e as Error).message;
  }
}

/**
 * Starts the node on a damaged index. LMDB may meet damage the start's checks do not read (they walk
 * its trees and free list, and read every entry, not every byte LMDB keeps) and the process die of it
 * (SIGBUS, SIGSEGV, or SIGABRT from one of LMDB's assertions) while the check's marker is there: the
 * next start, as systemd's restart, then rebuilds the index without reading it. Resolves with the node
 * that started, and whether a start crashed first.
 */
export async function startSurvivingIndexDamage(
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

/** How the full check after start ended: passed, found damage (otsd then exits for a restart), or otsd exited or crashed. */
export async function fullCheckOutcome(calendar: CalendarProcess): Promise<string> {
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
  throw new Error(`the full check did not end within 60 s\n${calendar.output()}`);
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
