/**
 * An acknowledged digest is never lost: clients post digests concurrently while the calendar process
 * is killed with SIGKILL at random moments, several times, or while its journal stops being able to
 * write; after each restart every digest that got a 200 has its commitment in the journal and the
 * index, and the journal verifies. (Power cuts: test/journal/power-cut.test.ts.)
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Calendar } from '../../src/calendar/calendar.js';
import { Journal } from '../../src/journal/journal.js';
import { RecordKind } from '../../src/journal/record.js';
import { verifyJournal } from '../../src/journal/verify.js';
import { PendingAttestation, Timestamp, toHex } from '../../src/ots/index.js';
import { OTSD_MAIN, startCalendarProcess } from '../helpers/calendar-process.js';
import { spawnTracked } from '../helpers/child-process.js';
import { freePort } from '../helpers/free-port.js';
import { requireTools } from '../helpers/require-tools.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';

const KILLS = 4;
const CLIENTS = 16;

/** Posts digests until `until` says stop; returns the commitments of every 200 answer. */
async function postUntil(url: string, until: () => boolean): Promise<string[]> {
  const acked: string[] = [];
  const worker = async () => {
    while (!until()) {
      const digest = crypto.getRandomValues(new Uint8Array(32));
      try {
        const res = await fetch(`${url}/digest`, {
          method: 'POST',
          body: digest,
          signal: AbortSignal.timeout(5000),
        });
        if (res.status !== 200) continue;
        const body = new Uint8Array(await res.arrayBuffer());
        const found = Timestamp.fromBytes(digest, body).shortestPathTo(
          (a) => a instanceof PendingAttestation,
        );
        if (found) acked.push(toHex(found.msg));
      } catch {
        // the process was killed: this digest was never acknowledged
      }
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, worker));
  return acked;
}

describe('graceful stop', () => {
  it('answers every waiting client and loses no acknowledged digest across a SIGTERM under load', async (t) => {
    const dataDir = tempDir(t);
    // long rounds: many digests are waiting in the aggregator when the signal comes
    const calendar = await startCalendarProcess(dataDir, ['--round-interval', '700', '--log-level', 'warn']);
    let stopped = false;
    const posting = postUntil(calendar.url, () => stopped);
    await sleep(1000 + Math.random() * 500);
    assert.equal(await calendar.stop('SIGTERM'), 0, calendar.output());
    stopped = true;
    const acked = await posting;
    assert.ok(acked.length >= CLIENTS, `only ${acked.length} acknowledged`);
    const journal = await Journal.open({ dir: join(dataDir, 'journal') });
    const inJournal = new Set<string>();
    for await (const record of journal.read()) inJournal.add(toHex(record.payload));
    await journal.close();
    assert.deepEqual(
      acked.filter((c) => !inJournal.has(c)),
      [],
    );
  });
});

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

describe('crash safety', () => {
  it('keeps every acknowledged digest across repeated SIGKILLs', async (t) => {
    const dataDir = tempDir(t);
    const port = await freePort();
    const acked: string[] = [];
    for (let kill = 0; kill < KILLS; kill++) {
      const calendar = await startCalendarProcess(
        dataDir,
        ['--round-interval', String(5 + kill * 20), '--log-level', 'warn'],
        port,
      );
      let killed = false;
      const posting = postUntil(calendar.url, () => killed);
      await sleep(300 + Math.random() * 1200);
      calendar.child.kill('SIGKILL');
      await calendar.stop();
      killed = true;
      acked.push(...(await posting));
    }
    assert.ok(acked.length > 50, `only ${acked.length} digests were acknowledged`);
    await expectAcknowledged(dataDir, acked);
  });
});

/** Opens the data dir as a restart would: the journal verifies, and every acknowledged commitment is in it and indexed. */
async function expectAcknowledged(dataDir: string, acked: string[]): Promise<void> {
  const verified = await verifyJournal(join(dataDir, 'journal'));
  // a kill may leave a torn last record; opening the journal truncates it, and it was never acknowledged
  assert.deepEqual(verified.errors, []);
  const calendar = await Calendar.open({ dataDir, uri: 'http://127.0.0.1:1' });
  const inJournal = new Set<string>();
  for await (const record of calendar.journal.read()) {
    if (record.kind === RecordKind.Commitment) inJournal.add(toHex(record.payload));
  }
  const lost = acked.filter((c) => !inJournal.has(c));
  assert.deepEqual(
    lost,
    [],
    `${lost.length} of ${acked.length} acknowledged commitments are not in the journal`,
  );
  const unindexed = acked.filter((c) => calendar.index.lookup(Buffer.from(c, 'hex')).state === 'unknown');
  assert.deepEqual(unindexed, []);
  await calendar.close();
  assert.equal((await verifyJournal(join(dataDir, 'journal'))).ok, true);
  // and the journal opens cleanly for a writer
  const journal = await Journal.open({ dir: join(dataDir, 'journal') });
  await journal.close();
}

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
    let exited = false;
    const posting = postUntil(calendar.url, () => exited);
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
      exited = true; // the clients stop on every path
    }
    const acked = await posting;
    assert.equal(code, 1, calendar.output());
    assert.match(calendar.output(), /journal: write failed: EFBIG/);
    assert.match(calendar.output(), /the journal stopped taking appends; exiting for a restart/);
    assert.ok(acked.length >= CLIENTS, `only ${acked.length} acknowledged`);
    await expectAcknowledged(dataDir, acked);
  });
});
