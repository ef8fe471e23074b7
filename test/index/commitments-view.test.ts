/**
 * The commitments view's compact layout: a 6-byte prefix per commitment (the rest read back from the
 * journal), commitments seen twice kept apart, the pending set as runs of records, and an index of
 * the version before it (test/fixtures/index-v4, written by otsd at 714d35d: 40 commitments, the
 * first 20 proven) rebuilt at start.
 */
import assert from 'node:assert/strict';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Calendar } from '../../src/calendar/calendar.js';
import { CalendarIndex, INDEX_VERSION } from '../../src/index/calendar-index.js';
import { BitcoinBlockHeaderAttestation, MerkleTree, sha256, Timestamp, toHex } from '../../src/ots/index.js';
import { indexContents } from '../helpers/index-contents.js';
import { tempDir } from '../helpers/temp-dir.js';

const URI = 'http://127.0.0.1:14788';
const V4_FIXTURE = fileURLToPath(new URL('../../../test/fixtures/index-v4/', import.meta.url));

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

  it('rebuilds an index of the version before at start, dropping its databases, and answers as before', async (t) => {
    const dataDir = tempDir(t);
    cpSync(V4_FIXTURE, dataDir, { recursive: true });
    const before = await indexContents(join(dataDir, 'index'));
    assert.ok(before.has('records'), 'the fixture is a version 4 index');

    const calendar = await Calendar.open({ dataDir, uri: URI });
    try {
      const commitments = Array.from({ length: 40 }, (_, i) => sha256(new Uint8Array([0x04, i])));
      for (const [i, c] of commitments.entries()) {
        assert.equal((await calendar.lookup(c)).state, i < 20 ? 'found' : 'pending', `commitment ${i}`);
      }
      assert.equal(calendar.index.commitmentCount, 40);
      assert.equal(calendar.index.pendingCount, 20);
      assert.equal(calendar.index.applied.number, 41);
    } finally {
      await calendar.close();
    }
    const after = await indexContents(join(dataDir, 'index'));
    for (const old of ['records', 'commitments', 'pending', 'chunks']) assert.ok(!after.has(old), old);
    const version = after.get('meta')?.find((e) => e.startsWith(Buffer.from('version').toString('hex')));
    assert.equal(version?.split('=')[1], INDEX_VERSION.toString(16).padStart(16, '0'));
  });
});
