/**
 * The whole index checked against the journal after start (the start's check reads a sample): one
 * flipped bit in a commitment's entry, in a chunk the sample missed, made an acknowledged commitment
 * answer "Not found". A lookup that finds nothing is never answered from an index the full check has
 * not passed; a damaged one is rebuilt at the next start.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { open } from 'lmdb';
import { Calendar } from '../../src/calendar/calendar.js';
import { IndexNotCheckedError } from '../../src/index/full-check.js';
import { CHUNK_RECORDS } from '../../src/journal/chunk.js';
import { BitcoinBlockHeaderAttestation, MerkleTree, sha256, Timestamp, toHex } from '../../src/ots/index.js';
import { startCalendarProcess } from '../helpers/calendar-process.js';
import { commitmentEntry } from '../helpers/index-contents.js';
import { memoryLog, tempDir } from '../helpers/temp-dir.js';
import { startTestCalendar, TEST_URI } from '../helpers/test-calendar.js';
import { waitFor } from '../helpers/wait-for.js';

/** 24 chunks: more than the start's sample reads. */
const COMMITMENTS = Array.from({ length: 24 * CHUNK_RECORDS }, (_, i) =>
  sha256(new Uint8Array([7, i & 0xff, i >> 8])),
);
/** The one damaged: in chunk 20, which the sample below does not read. */
const damaged = COMMITMENTS[20 * CHUNK_RECORDS + 17] as Uint8Array;

/** `open()` with the start's sample fixed to chunks 0..16 and the last. */
async function missingChunk20<T>(open: () => Promise<T>): Promise<T> {
  const random = Math.random;
  let pick = 0;
  Math.random = () => (pick++ % 23) / 23;
  try {
    return await open();
  } finally {
    Math.random = random;
  }
}

/** Flips the last bit of `needle` wherever `file` holds it (old copies too). */
function flipEverywhere(file: string, needle: Uint8Array): void {
  const bytes = readFileSync(file);
  let flipped = 0;
  for (let at = bytes.indexOf(needle); at > 0; at = bytes.indexOf(needle, at + 1)) {
    bytes[at + needle.byteLength - 1] = (bytes[at + needle.byteLength - 1] as number) ^ 1;
    flipped++;
  }
  assert.ok(flipped > 0);
  writeFileSync(file, bytes);
}

/** A calendar of COMMITMENTS whose index lost `damaged`; its data directory. */
async function damagedCalendar(t: TestContext): Promise<string> {
  const dataDir = await calendarOfCommitments(t);
  // its entry in the index: the rest of its prefix and its record number
  flipEverywhere(join(dataDir, 'index', 'data.mdb'), await commitmentEntry(dataDir, damaged));
  return dataDir;
}

/** A calendar of `commitments` in segments of 64 KiB (some 950 records each); its data directory. */
async function calendarOfCommitments(t: TestContext, commitments = COMMITMENTS): Promise<string> {
  const dataDir = tempDir(t);
  const created = await Calendar.open({ dataDir, uri: TEST_URI, create: true, maxSegmentBytes: 65536 });
  for (let i = 0; i < commitments.length; i += 512) {
    await Promise.all(commitments.slice(i, i + 512).map((c) => created.commit(c)));
  }
  await created.close();
  return dataDir;
}

describe('the full check of the index after start', () => {
  it('never answers Not found from an index it has not passed, and finds the damage the sample missed', async (t) => {
    const dataDir = await damagedCalendar(t);

    const log = memoryLog();
    const calendar = await missingChunk20(() => Calendar.open({ dataDir, uri: TEST_URI, log }));
    try {
      assert.equal(
        log.lines.find((l) => l.msg.startsWith('index: damaged')),
        undefined,
        'the start did not notice',
      );
      calendar.startFullIndexCheck(log);
      await assert.rejects(calendar.answer(damaged), IndexNotCheckedError);
      assert.equal(calendar.indexCheck?.state, 'index damaged');
      assert.match(calendar.indexCheck?.warning() ?? '', /the index is damaged .*otsd stops for a restart/);
      assert.ok(
        log.lines.some(
          (l) => l.level === 'error' && l.msg.startsWith('index: damaged (found by the full check'),
        ),
      );
      // what the index finds is answered as before
      assert.notEqual((await calendar.answer(COMMITMENTS[3] as Uint8Array)).state, 'unknown');
    } finally {
      await calendar.close();
    }

    // the next start rebuilds it
    const again = memoryLog();
    const rebuilt = await Calendar.open({ dataDir, uri: TEST_URI, log: again });
    try {
      assert.ok(again.lines.some((l) => l.msg === 'index: damaged; rebuilding it from the journal'));
      rebuilt.startFullIndexCheck(again);
      assert.notEqual((await rebuilt.answer(damaged)).state, 'unknown');
      assert.equal((await rebuilt.answer(sha256(new Uint8Array([1, 2, 3])))).state, 'unknown');
      assert.equal(rebuilt.indexCheck?.state, 'passed');
    } finally {
      await rebuilt.close();
    }
  });

  it('answers 503 over HTTP, not Not found, for a commitment the damaged index lost, and lists no prefix from it', async (t) => {
    const dataDir = await damagedCalendar(t);
    const { app, calendar } = await missingChunk20(() => startTestCalendar(t, { dataDir }));
    calendar.startFullIndexCheck(memoryLog());
    const res = await app.inject({ method: 'GET', url: `/timestamp/${toHex(damaged)}` });
    assert.equal(res.statusCode, 503);
    assert.match(res.body, /checking its index against its journal, retry later/);
    // nor listed by prefix from it (the list would lack it)
    const listed = await app.inject({
      method: 'GET',
      url: `/timestamps?prefix=${toHex(damaged).slice(0, 8)}`,
    });
    assert.equal(listed.statusCode, 503, listed.body);
    assert.match(listed.body, /checking its index against its journal, retry later/);
  });

  it('finds a pending set that does not match the journal: commitments taken for proven would never be stamped', async (t) => {
    const commitments = COMMITMENTS.slice(0, 600);
    const dataDir = await calendarOfCommitments(t, commitments);
    const proving = await Calendar.open({ dataDir, uri: TEST_URI });
    const proven = Array.from({ length: 100 }, (_, i) => 100 + i);
    const tip = new Timestamp(new MerkleTree(proven.map((n) => sha256(commitments[n] as Uint8Array))).root);
    tip.attestations.add(new BitcoinBlockHeaderAttestation(1000));
    await proving.addProof(proven, tip);
    await proving.close();
    // pending: records 0-99 and 200-599, two runs; the second cut to 200-499, values in place (every
    // page stays valid, so only a comparison with the journal finds it)
    const env = open<Buffer, Buffer>({ path: join(dataDir, 'index'), keyEncoding: 'binary', maxDbs: 64 });
    const runs = env.openDB<Buffer, Buffer>({
      name: 'pending-runs',
      keyEncoding: 'binary',
      encoding: 'binary',
    });
    const second = [...runs.getRange()][1] as { key: Buffer; value: Buffer };
    const cut = Buffer.alloc(8);
    cut.writeUInt32BE(300, 4);
    await runs.put(second.key, cut);
    await env.close();

    const log = memoryLog();
    const calendar = await Calendar.open({ dataDir, uri: TEST_URI, log });
    try {
      calendar.startFullIndexCheck(log);
      await calendar.indexCheck?.done;
      assert.equal(calendar.indexCheck?.state, 'index damaged');
      assert.match(
        calendar.indexCheck?.problem ?? '',
        /^record 500: the index has the commitment proven, while the journal's proofs leave it pending$/,
      );
    } finally {
      await calendar.close();
    }
  });

  it('passes a calendar whose rounds and proofs go on while it checks', async (t) => {
    const dataDir = await calendarOfCommitments(t);
    const calendar = await Calendar.open({ dataDir, uri: TEST_URI });
    try {
      calendar.startFullIndexCheck(memoryLog());
      // new commitments and a proof of old and new ones, while the check walks the journal
      const more = Array.from({ length: 300 }, (_, i) => sha256(new Uint8Array([9, i & 0xff, i >> 8])));
      await Promise.all(more.map((c) => calendar.commit(c)));
      const head = calendar.journal.head.records;
      const proven = [5, 6, 7, head - 2, head - 1];
      const tip = new Timestamp(
        new MerkleTree(proven.map((n) => sha256(calendar.index.commitmentAt(n) as Uint8Array))).root,
      );
      tip.attestations.add(new BitcoinBlockHeaderAttestation(1000));
      await calendar.addProof(proven, tip);
      await calendar.indexCheck?.done;
      assert.equal(calendar.indexCheck?.state, 'passed', calendar.indexCheck?.problem);
    } finally {
      await calendar.close();
    }
  });

  it('finds a journal segment damaged where the sample did not read, and says so', async (t) => {
    const dataDir = await calendarOfCommitments(t);
    const journal = join(dataDir, 'journal');
    const files = readdirSync(journal)
      .filter((n) => n.endsWith('.seg'))
      .sort();
    const holding = files
      .map((n) => join(journal, n))
      .find((f) => readFileSync(f).includes(Buffer.from(damaged)));
    assert.ok(holding && holding !== join(journal, files.at(-1) as string), 'a segment before the last');
    flipEverywhere(holding, damaged);
    const log = memoryLog();
    const calendar = await missingChunk20(() => Calendar.open({ dataDir, uri: TEST_URI, log }));
    try {
      calendar.startFullIndexCheck(log);
      await assert.rejects(calendar.answer(sha256(new Uint8Array([1, 2, 3]))), IndexNotCheckedError);
      assert.equal(calendar.indexCheck?.state, 'journal damaged');
      assert.match(calendar.indexCheck?.warning() ?? '', /the journal is damaged .*verify-journal/);
      assert.ok(
        log.lines.some(
          (l) => l.level === 'error' && l.msg.startsWith('journal: damaged (found by the full check'),
        ),
      );
    } finally {
      await calendar.close();
    }
  });

  it('otsd exits with status 1 when the full check finds its index damaged, and the next start rebuilds it', async (t) => {
    // 96 chunks, of which the start reads a sample of 17: it rarely reads the damaged one
    const many = Array.from({ length: 96 * CHUNK_RECORDS }, (_, i) =>
      sha256(new Uint8Array([8, i & 0xff, i >> 8])),
    );
    const lost = many[20 * CHUNK_RECORDS + 17] as Uint8Array;
    const dataDir = await calendarOfCommitments(t, many);
    const checked = (output: string) =>
      /exiting for a restart, which rebuilds it/.test(output)
        ? 'exited'
        : /index: checked in full against the journal/.test(output)
          ? 'passed'
          : undefined;
    const entry = await commitmentEntry(dataDir, lost);
    for (let attempt = 1; ; attempt++) {
      flipEverywhere(join(dataDir, 'index', 'data.mdb'), entry);
      const otsd = await startCalendarProcess(dataDir);
      t.after(() => otsd.stop('SIGKILL'));
      const outcome = await waitFor('the full check', () => checked(otsd.output()), 60_000, otsd.output);
      if (outcome === 'exited') {
        const code = await waitFor(
          'otsd to exit',
          () => otsd.child.exitCode ?? undefined,
          30_000,
          otsd.output,
        );
        assert.equal(code, 1, otsd.output());
        break;
      }
      // the start's sample read the damaged chunk and rebuilt the index before listening: again
      await otsd.stop();
      assert.ok(attempt < 6, 'the start-time sample read the damaged chunk every time');
    }
    const restarted = await startCalendarProcess(dataDir);
    t.after(() => restarted.stop('SIGKILL'));
    assert.equal(
      await waitFor('the full check', () => checked(restarted.output()), 60_000, restarted.output),
      'passed',
    );
    const res = await fetch(`${restarted.url}/timestamp/${toHex(lost)}`);
    assert.equal(res.status, 404);
    assert.match(await res.text(), /^Pending confirmation in Bitcoin blockchain/);
    await restarted.stop();
  });
});
