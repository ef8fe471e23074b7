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
import { CalendarIndex } from '../../src/index/calendar-index.js';
import { indexProblem } from '../../src/index/check.js';
import { hasCheckMarker } from '../../src/index/check-marker.js';
import { FullIndexCheck, IndexNotCheckedError } from '../../src/index/full-check.js';
import { u64 } from '../../src/index/keys.js';
import { CHUNK_RECORDS } from '../../src/journal/chunk.js';
import { Journal } from '../../src/journal/journal.js';
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

/**
 * A calendar whose proofs the index keeps every way: records 0-19 commitments, 20 and 21 the
 * commitments of 3 and 5 again; then proofs A (record 22) of 0-9, one run; B (23) of 12-14 (a run)
 * and 20 (a duplicate: kept under record 3); C (24) of 10 and 11, after 12-14 (out of order: kept
 * apart); D (25) of 5 (a second proof), 15-16 (a run from leaf 1) and 21 (a second proof of a
 * duplicate). Its data directory.
 */
async function calendarOfProofs(t: TestContext): Promise<string> {
  const dataDir = tempDir(t);
  const calendar = await Calendar.open({ dataDir, uri: TEST_URI, create: true });
  try {
    const commitments = Array.from({ length: 20 }, (_, i) => sha256(new Uint8Array([5, i])));
    for (const c of [...commitments, commitments[3], commitments[5]]) await calendar.commit(c as Uint8Array);
    for (const [proof, covered] of [
      [22, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]],
      [23, [12, 13, 14, 20]],
      [24, [10, 11]],
      [25, [5, 15, 16, 21]],
    ] as const) {
      const tip = new Timestamp(calendar.merkleTip(covered));
      tip.attestations.add(new BitcoinBlockHeaderAttestation(1000 + proof));
      assert.equal((await calendar.addProof([...covered], tip)).number, proof);
    }
  } finally {
    await calendar.close();
  }
  return dataDir;
}

/** Rewrites the entry of `record` in the index's database `name` (of the closed calendar at `dataDir`). */
async function damageIndex(
  dataDir: string,
  name: 'proof-runs' | 'proofs-of' | 'duplicates',
  record: number,
  damage: (value: Buffer) => Buffer,
): Promise<void> {
  const env = open<Buffer, Buffer>({ path: join(dataDir, 'index'), keyEncoding: 'binary', maxDbs: 64 });
  try {
    const db = env.openDB<Buffer, Buffer>({ name, keyEncoding: 'binary', encoding: 'binary' });
    const value = db.get(u64(record));
    assert.ok(value, `${name} holds record ${record}`);
    await db.put(u64(record), damage(Buffer.from(value)));
  } finally {
    await env.close();
  }
}

/** A damage: `n` written at `offset` of the value (a run's leaf at 8, its length at 12). */
const u32At = (offset: number, n: number) => (value: Buffer) => {
  value.writeUInt32BE(n, offset);
  return value;
};
/** A damage: a run's proof record made `n`. */
const proofRecordOf = (n: number) => (value: Buffer) => {
  value.writeBigUInt64BE(BigInt(n), 0);
  return value;
};

/** The full check's verdict on the index of the closed calendar at `dataDir` (the start's sample left out). */
async function fullCheckOf(dataDir: string): Promise<{ state: string; problem: string | undefined }> {
  const indexPath = join(dataDir, 'index');
  const index = CalendarIndex.open(indexPath, join(dataDir, 'journal'));
  const journal = await Journal.open({ dir: join(dataDir, 'journal') });
  try {
    const check = new FullIndexCheck(index, indexPath, journal, memoryLog());
    await check.done;
    return { state: check.state, problem: check.problem };
  } finally {
    await journal.close();
    await index.close();
  }
}

describe('the full check compares the proofs the index holds for each commitment with the journal', () => {
  it('passes a calendar with duplicates, second proofs and proofs out of order', async (t) => {
    const dataDir = await calendarOfProofs(t);
    assert.deepEqual(await fullCheckOf(dataDir), { state: 'passed', problem: undefined });
  });

  const cases: {
    damage: string;
    db: 'proof-runs' | 'proofs-of' | 'duplicates';
    record: number;
    change: (v: Buffer) => Buffer;
    problem: RegExp;
  }[] = [
    {
      damage: "a run's leaf changed (every lookup in it threw)",
      db: 'proof-runs',
      record: 0,
      change: u32At(8, 1),
      problem:
        /^record 22: its leaf 0 is commitment record 0, and the index does not hold that proof for record 0$/,
    },
    {
      damage: "a run's proof record changed (no proof record 3)",
      db: 'proof-runs',
      record: 0,
      change: proofRecordOf(3),
      problem: /^record 22: its leaf 0 is commitment record 0, /,
    },
    {
      damage: 'a run cut short (the rest answered pending, though proven)',
      db: 'proof-runs',
      record: 0,
      change: u32At(12, 5),
      problem:
        /^record 22: its leaf 5 is commitment record 5, and the index does not hold that proof for record 5$/,
    },
    {
      damage: "a run lengthened over a record its proof does not cover (10, another proof's)",
      db: 'proof-runs',
      record: 0,
      change: u32At(12, 11),
      problem:
        /^record 0: the index holds records 0-10 at leaves 0-10 of record 22, while the journal's proof has record 0 at leaf 0, then 10 consecutive records$/,
    },
    {
      damage: "a run past its proof's leaves",
      db: 'proof-runs',
      record: 15,
      change: u32At(8, 4),
      problem: /^record 25: its leaf 1 is commitment record 15, /,
    },
    {
      damage: "a duplicate's reference changed",
      db: 'proofs-of',
      record: 5,
      change: u32At(12 + 8, 2),
      problem:
        /^record 25: its leaf 3 is commitment record 21, and the index does not hold that proof for record 21 \(whose commitment record 5 holds first\)$/,
    },
    {
      damage: 'a reference added that no proof gives',
      db: 'proofs-of',
      record: 3,
      change: (v) => Buffer.concat([v, u64(22), Buffer.from([0, 0, 0, 4])]),
      problem:
        /^record 3: the index holds leaf 4 of record 22 among its commitment's proofs, while the journal's proof has commitment record 4 there$/,
    },
    {
      damage: "a duplicate's first record changed (what its proofs are listed under)",
      db: 'duplicates',
      record: 20,
      change: () => u64(4),
      problem:
        /^record 20: the index lists its proofs under record 4, while its commitment is held first by record 3$/,
    },
  ];
  for (const { damage, db, record, change, problem } of cases) {
    it(`finds ${damage}, naming the record`, async (t) => {
      const dataDir = await calendarOfProofs(t);
      await damageIndex(dataDir, db, record, change);
      const found = await fullCheckOf(dataDir);
      assert.equal(found.state, 'index damaged', found.problem);
      assert.match(found.problem ?? '', problem);
      // the existing path: the next start rebuilds it
      assert.ok(hasCheckMarker(join(dataDir, 'index')));
    });
  }

  it("the start's check finds a damaged run too, on a calendar small enough to read in full", async (t) => {
    const dataDir = await calendarOfProofs(t);
    await damageIndex(dataDir, 'proof-runs', 0, u32At(12, 5));
    const index = CalendarIndex.open(join(dataDir, 'index'), join(dataDir, 'journal'));
    const journal = await Journal.open({ dir: join(dataDir, 'journal') });
    try {
      assert.match(
        (await indexProblem(index, journal)) ?? '',
        /^record 22: its leaf 5 is commitment record 5/,
      );
    } finally {
      await journal.close();
      await index.close();
    }
  });
});
