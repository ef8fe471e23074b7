/**
 * The commitments view's compact layout: a 6-byte prefix per commitment (the rest read back from the
 * journal), commitments seen twice kept apart, the pending set as runs of records, and indexes of
 * older versions rebuilt at start: test/fixtures/index-v4 (written by otsd at 714d35d: 40 commitments,
 * the first 20 proven) and test/fixtures/index-v5 (written by otsd at 1c3418d: 50 commitments, the
 * first 40 proven in one proof, whose tree version 5 kept a node to an entry) and test/fixtures/index-v6
 * (written by otsd at fbb20bf: 50 commitments, the first 40 proven in one proof, an entry each in
 * `proofs-of`).
 */
import assert from 'node:assert/strict';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Calendar } from '../../src/calendar/calendar.js';
import { CalendarIndex, INDEX_VERSION } from '../../src/index/calendar-index.js';
import { catchUpIndex } from '../../src/index/catch-up.js';
import { IndexConsistencyError } from '../../src/index/errors.js';
import { Journal, type StoredRecord } from '../../src/journal/journal.js';
import { BitcoinBlockHeaderAttestation, MerkleTree, sha256, Timestamp, toHex } from '../../src/ots/index.js';
import { indexContents, indexDifference } from '../helpers/index-contents.js';
import { tempDir } from '../helpers/temp-dir.js';

const URI = 'http://127.0.0.1:14788';
const fixture = (name: string) => fileURLToPath(new URL(`../../../test/fixtures/${name}/`, import.meta.url));

/** A proof of `records` (commitment record numbers, ascending) holding `commitments`. */
async function prove(calendar: Calendar, records: number[]): Promise<void> {
  const leaves = records.map((n) => sha256(calendar.index.commitmentAt(n) as Uint8Array));
  const tip = new Timestamp(new MerkleTree(leaves).root);
  tip.attestations.add(new BitcoinBlockHeaderAttestation(800_000));
  await calendar.addProof(records, tip);
}

/** `hex` followed by `fill` up to 32 bytes. */
const commitment = (hex: string, fill = 0): Uint8Array => {
  const bytes = new Uint8Array(32).fill(fill);
  bytes.set(Buffer.from(hex, 'hex'));
  return bytes;
};

describe('the commitments view', () => {
  it('tells apart commitments that share their indexed prefix, and lists them by prefix exactly', async (t) => {
    const dataDir = tempDir(t);
    const calendar = await Calendar.open({ dataDir, uri: URI, create: true });
    t.after(() => calendar.close());
    const a = commitment('abcdef01020300', 0x11);
    const b = commitment('abcdef010203ff', 0x22);
    const nextPrefix = commitment('abcdef010204');
    const short = new Uint8Array([0xab, 0xcd, 0xef]);
    const others = Array.from({ length: 50 }, (_, i) => sha256(new Uint8Array([i])));
    for (const c of [b, ...others.slice(0, 25), a, short, nextPrefix, ...others.slice(25)])
      await calendar.commit(c);

    assert.deepEqual(calendar.index.lookup(b), { state: 'pending', record: 0 });
    assert.deepEqual(calendar.index.lookup(a), { state: 'pending', record: 26 });
    assert.deepEqual(calendar.index.lookup(short), { state: 'pending', record: 27 });
    // the same 6-byte prefix as a and b, held by no record
    assert.deepEqual(calendar.index.lookup(commitment('abcdef01020300', 0x12)), { state: 'unknown' });
    assert.deepEqual(calendar.index.lookup(short.subarray(0, 2)), { state: 'unknown' });

    const hex = (list: Uint8Array[]) => list.map(toHex);
    assert.deepEqual(hex(calendar.index.commitmentsWithPrefix('abcdef', 10)), hex([short, a, b, nextPrefix]));
    assert.deepEqual(hex(calendar.index.commitmentsWithPrefix('abcdef010203', 10)), hex([a, b]));
    assert.deepEqual(hex(calendar.index.commitmentsWithPrefix('abcdef0102030', 10)), hex([a]));
    // longer than the indexed prefix: confirmed against the journal
    assert.deepEqual(hex(calendar.index.commitmentsWithPrefix('abcdef01020300111', 10)), hex([a]));
    assert.deepEqual(hex(calendar.index.commitmentsWithPrefix('abcdef01020300112', 10)), []);
    assert.deepEqual(hex(calendar.index.commitmentsWithPrefix('abcdef', 2)), hex([short, a]));
    for (const c of others) {
      const listed = calendar.index.commitmentsWithPrefix(toHex(c).slice(0, 3), 100);
      assert.ok(listed.some((l) => toHex(l) === toHex(c)));
      assert.ok(listed.every((l) => toHex(l).startsWith(toHex(c).slice(0, 3))));
    }
  });

  it('finds a commitment seen again in the transaction that took it first, with or without the bitmap', async (t) => {
    const dataDir = tempDir(t);
    let calendar = await Calendar.open({ dataDir, uri: URI, create: true });
    const batches: number[] = [];
    calendar.journal.onAppend((records) => batches.push(records.length));
    const [z, a, b, c, y, d] = [0, 1, 2, 3, 4, 5].map((i) => sha256(new Uint8Array([0xa0, i]))) as [
      Uint8Array,
      ...Uint8Array[],
    ];
    // the first append is written alone; the ones that come while it is are written together
    const commitAll = (list: (Uint8Array | undefined)[]) =>
      Promise.all(list.map((x) => calendar.commit(x as Uint8Array)));
    await commitAll([z, a, b, a, c, b]);
    assert.deepEqual(batches, [1, 5]);
    assert.deepEqual(
      [1, 2, 3, 4, 5].map((n) => calendar.index.firstRecordOf(n)),
      [1, 2, 1, 4, 2],
    );
    assert.equal(calendar.index.commitmentCount, 4);
    await calendar.close();
    // reopened, the index holds commitments: no bitmap, every commitment read for
    calendar = await Calendar.open({ dataDir, uri: URI });
    t.after(() => calendar.close());
    await commitAll([y, d, a, d]);
    assert.deepEqual(
      [7, 8, 9].map((n) => calendar.index.firstRecordOf(n)),
      [7, 1, 7],
    );
    assert.equal(calendar.index.commitmentCount, 6);
    assert.deepEqual(calendar.index.lookup(d as Uint8Array), { state: 'pending', record: 7 });
    const all = [z, a, b, c, y, d].map((x) => toHex(x as Uint8Array)).sort();
    assert.deepEqual(calendar.index.commitmentsWithPrefix('', 10).map(toHex), all);
  });

  it('keeps a commitment seen twice at its first record, counted once, proven through either record', async (t) => {
    const dataDir = tempDir(t);
    let calendar = await Calendar.open({ dataDir, uri: URI, create: true });
    const twice = sha256(new Uint8Array([1]));
    const other = sha256(new Uint8Array([2]));
    for (const c of [twice, other, twice]) await calendar.commit(c);
    assert.deepEqual(calendar.index.lookup(twice), { state: 'pending', record: 0 });
    assert.equal(calendar.index.commitmentCount, 2);
    assert.equal(calendar.index.pendingCount, 3);
    assert.deepEqual(calendar.index.commitmentsWithPrefix(toHex(twice).slice(0, 4), 10).map(toHex), [
      toHex(twice),
    ]);

    // proven through its second record: the first lists the proof, and the second is no longer pending
    await prove(calendar, [1, 2]);
    assert.deepEqual(calendar.index.lookup(twice), {
      state: 'proved',
      record: 0,
      proofs: [{ proof: 3, leaf: 1 }],
    });
    assert.deepEqual([...calendar.index.pendingRecords()], [0]);
    assert.equal((await calendar.lookup(twice)).state, 'found');

    // the same after a reopen, and after a rebuild
    await calendar.close();
    for (const rebuild of [false, true]) {
      if (rebuild) {
        const index = CalendarIndex.open(join(dataDir, 'index'), join(dataDir, 'journal'));
        index.clear();
        await index.close();
      }
      calendar = await Calendar.open({ dataDir, uri: URI });
      try {
        assert.deepEqual(calendar.index.lookup(twice), {
          state: 'proved',
          record: 0,
          proofs: [{ proof: 3, leaf: 1 }],
        });
        assert.equal(calendar.index.commitmentCount, 2);
        assert.deepEqual([...calendar.index.pendingRecords()], [0]);
      } finally {
        await calendar.close();
      }
    }
  });

  it('holds the same entries rebuilt in one batch as built a record at a time: duplicates, proofs over proofs', async (t) => {
    const dataDir = tempDir(t);
    const calendar = await Calendar.open({ dataDir, uri: URI, create: true });
    const c = (i: number) => sha256(new Uint8Array([9, i]));
    for (const i of [0, 1, 2, 0]) await calendar.commit(c(i)); // records 0-3, 3 a duplicate of 0
    await prove(calendar, [0, 1]); // record 4
    await calendar.commit(c(3)); // record 5
    await prove(calendar, [1, 2, 3]); // record 6: 1 proven again, 3 through its first record
    await prove(calendar, [5]); // record 7
    await calendar.commit(c(1)); // record 8, a duplicate of 1, proven twice already
    await prove(calendar, [0, 8]); // record 9
    await calendar.close();
    const recordByRecord = await indexContents(join(dataDir, 'index'));

    const index = CalendarIndex.open(join(dataDir, 'index'), join(dataDir, 'journal'));
    const journal = await Journal.open({ dir: join(dataDir, 'journal') });
    index.clear();
    await catchUpIndex(index, journal);
    // record 1: proofs 4 (a run's), 6 and 9 (through its duplicate 8), in record order
    assert.deepEqual(index.lookup(c(1)), {
      state: 'proved',
      record: 1,
      proofs: [
        { proof: 4, leaf: 1 },
        { proof: 6, leaf: 0 },
        { proof: 9, leaf: 1 },
      ],
    });
    // record 0: proofs 4, 6 (through its duplicate 3) and 9; record 5 only 7's run
    assert.deepEqual((index.lookup(c(0)) as { proofs: unknown[] }).proofs, [
      { proof: 4, leaf: 0 },
      { proof: 6, leaf: 2 },
      { proof: 9, leaf: 0 },
    ]);
    assert.deepEqual(index.lookup(c(3)), { state: 'proved', record: 5, proofs: [{ proof: 7, leaf: 0 }] });
    await journal.close();
    await index.close();
    assert.equal(indexDifference(await indexContents(join(dataDir, 'index')), recordByRecord), undefined);
    assert.equal(recordByRecord.get('duplicates')?.length, 2);
    // first proofs in runs: 4 of records 0-1, 6 of record 2, 7 of record 5; the others kept apart
    assert.deepEqual(recordByRecord.get('proof-runs')?.length, 3);
    assert.deepEqual(recordByRecord.get('proofs-of')?.length, 2);
  });

  it('puts no entry of a transaction that failed, and takes its records again after', async (t) => {
    const dataDir = tempDir(t);
    const calendar = await Calendar.open({ dataDir, uri: URI, create: true });
    for (let i = 0; i < 20; i++) await calendar.commit(sha256(new Uint8Array([7, i])));
    await calendar.close();
    const expected = await indexContents(join(dataDir, 'index'));

    const index = CalendarIndex.open(join(dataDir, 'index'), join(dataDir, 'journal'));
    const journal = await Journal.open({ dir: join(dataDir, 'journal') });
    try {
      index.clear();
      const records: StoredRecord[] = [];
      for await (const record of journal.read()) records.push(record);
      // ten commitments taken into the transaction's prefix entries, then a gap ends it
      assert.throws(
        () => index.apply([...records.slice(0, 10), ...records.slice(11)]),
        (e) => e instanceof IndexConsistencyError && /expected journal record 10/.test(e.message),
      );
      assert.equal(index.commitmentCount, 0);
      await catchUpIndex(index, journal);
      assert.equal(index.commitmentCount, 20);
    } finally {
      await journal.close();
      await index.close();
    }
    assert.equal(indexDifference(await indexContents(join(dataDir, 'index')), expected), undefined);
  });

  it('keeps the pending set as runs, split and ended by proofs in any order', async (t) => {
    const dataDir = tempDir(t);
    let calendar = await Calendar.open({ dataDir, uri: URI, create: true });
    const commit = async (n: number) => {
      for (let i = 0; i < n; i++)
        await calendar.commit(sha256(new Uint8Array([7, calendar.journal.head.records])));
    };
    await commit(6); // records 0-5
    await prove(calendar, [3, 4]); // record 6
    await commit(3); // records 7-9
    await prove(calendar, [0, 1, 8]); // record 10
    await commit(1); // record 11
    const expected = [2, 5, 7, 9, 11];
    const check = (pending: number[]) => {
      assert.deepEqual([...calendar.index.pendingRecords()], pending);
      assert.equal(calendar.index.pendingCount, pending.length);
      for (let n = 0; n < 12; n++) {
        if (n === 6 || n === 10) continue;
        assert.equal(calendar.index.isPending(n), pending.includes(n), `record ${n}`);
      }
    };
    check(expected);

    await calendar.close();
    const runs = (await indexContents(join(dataDir, 'index'))).get('pending-runs');
    assert.deepEqual(runs?.length, 5);
    calendar = await Calendar.open({ dataDir, uri: URI });
    try {
      check(expected);
      // a long run of new commitments is one entry
      await commit(100);
      assert.equal(calendar.index.pendingCount, 105);
      await prove(calendar, [5, 7, 9]);
      await prove(calendar, [2, 11]);
      const left = Array.from({ length: 100 }, (_, i) => 12 + i);
      assert.deepEqual([...calendar.index.pendingRecords()], left);
      assert.equal(calendar.index.pendingCount, 100);
      for (let n = 0; n < 12; n++) assert.equal(calendar.index.isPending(n), false, `record ${n}`);
    } finally {
      await calendar.close();
    }
    assert.deepEqual((await indexContents(join(dataDir, 'index'))).get('pending-runs')?.length, 1);
  });

  it('rebuilds an index of version 4 at start, dropping its databases, and answers as before', async (t) => {
    const dataDir = tempDir(t);
    cpSync(fixture('index-v4'), dataDir, { recursive: true });
    const before = await indexContents(join(dataDir, 'index'));
    assert.ok(before.has('records'), 'the fixture is a version 4 index');
    await answersAsBefore(dataDir, 0x04, 40, 20);
    const after = await indexContents(join(dataDir, 'index'));
    for (const old of ['records', 'commitments', 'pending', 'chunks']) assert.ok(!after.has(old), old);
  });

  it('rebuilds an index of version 5 at start, its proof trees in blocks, and answers as before', async (t) => {
    const dataDir = tempDir(t);
    cpSync(fixture('index-v5'), dataDir, { recursive: true });
    assert.equal(storedVersion(await indexContents(join(dataDir, 'index'))), 5);
    await answersAsBefore(dataDir, 0x05, 50, 40);
    const tree = (await indexContents(join(dataDir, 'index'))).get('tree') ?? [];
    // levels of 40, 20, 10, 5, 3, 2 and 1 nodes: the first in two blocks
    assert.equal(tree.length, 8);
  });

  it('rebuilds an index of version 6 at start, first proofs as runs, and answers as before', async (t) => {
    const dataDir = tempDir(t);
    cpSync(fixture('index-v6'), dataDir, { recursive: true });
    const before = await indexContents(join(dataDir, 'index'));
    assert.equal(storedVersion(before), 6);
    assert.equal(before.get('proofs-of')?.length, 40, 'version 6 keeps an entry per proven commitment');
    await answersAsBefore(dataDir, 0x06, 50, 40);
    const after = await indexContents(join(dataDir, 'index'));
    assert.equal(after.get('proofs-of')?.length ?? 0, 0);
    assert.equal(after.get('proof-runs')?.length, 1);
  });
});

/**
 * Opens the calendar at `dataDir` (an older index, rebuilt at start): its `count` commitments
 * (sha256 of [tag, i]) answer, the first `proven` found, the rest pending; the index is of this version.
 */
async function answersAsBefore(dataDir: string, tag: number, count: number, proven: number): Promise<void> {
  const calendar = await Calendar.open({ dataDir, uri: URI });
  try {
    const commitments = Array.from({ length: count }, (_, i) => sha256(new Uint8Array([tag, i])));
    for (const [i, c] of commitments.entries()) {
      assert.equal((await calendar.lookup(c)).state, i < proven ? 'found' : 'pending', `commitment ${i}`);
    }
    assert.equal(calendar.index.commitmentCount, count);
    assert.equal(calendar.index.pendingCount, count - proven);
    assert.equal(calendar.index.applied.number, count + 1);
  } finally {
    await calendar.close();
  }
  assert.equal(storedVersion(await indexContents(join(dataDir, 'index'))), INDEX_VERSION);
}

/** The format version an index's `meta` database holds. */
function storedVersion(contents: Map<string, string[]>): number {
  const version = contents.get('meta')?.find((e) => e.startsWith(Buffer.from('version').toString('hex')));
  return Number.parseInt(version?.split('=')[1] ?? '', 16);
}
