import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Calendar } from '../../src/calendar/calendar.js';
import type { CalendarIndex } from '../../src/index/calendar-index.js';
import { Journal, type StoredRecord } from '../../src/journal/journal.js';
import { encodeProofPayload } from '../../src/journal/proof-payload.js';
import { RecordKind } from '../../src/journal/record.js';
import {
  BitcoinBlockHeaderAttestation,
  MerkleTree,
  OpAppend,
  PendingAttestation,
  sha256,
  Timestamp,
  toHex,
} from '../../src/ots/index.js';
import { memoryLog, tempDir } from '../helpers/temp-dir.js';

const URI = 'http://127.0.0.1:14788';
const tipOf = (i: number) => sha256(new Uint8Array([i, i, i]));

/** A proof tip as the stamper would write it: the merkle root, then a fake tx wrapper and an attestation. */
function proofTip(commitments: Uint8Array[], height: number): Timestamp {
  const tip = new Timestamp(new MerkleTree(commitments.map((c) => sha256(c))).root);
  tip.ops
    .add(new OpAppend(new Uint8Array([0xaa, height & 0xff])))
    .ops.add(new OpAppend(new Uint8Array([1])))
    .attestations.add(new BitcoinBlockHeaderAttestation(height));
  return tip;
}

/** Follows a lookup answer down to every Bitcoin attestation and checks it reached the proof's tip. */
function bitcoinHeights(timestamp: Timestamp): number[] {
  return [...timestamp.allAttestations()]
    .filter(([, a]) => a instanceof BitcoinBlockHeaderAttestation)
    .map(([, a]) => (a as BitcoinBlockHeaderAttestation).height)
    .sort((a, b) => a - b);
}

describe('calendar', () => {
  it('commits tips durably and answers pending until a proof covers them', async (t) => {
    const dataDir = tempDir(t);
    const calendar = await Calendar.open({ dataDir, uri: URI, create: true });
    const answer = await calendar.commit(tipOf(1));
    assert.deepEqual([...answer.attestations].map(String), [`PendingAttestation('${URI}')`]);
    assert.deepEqual(await calendar.lookup(tipOf(1)), { state: 'pending' });
    assert.deepEqual(await calendar.lookup(tipOf(2)), { state: 'unknown' });
    assert.equal(calendar.index.pendingCount, 1);
    await calendar.close();
  });

  it('serves the proof path from a commitment to the attestation of its proof record', async (t) => {
    const dataDir = tempDir(t);
    const calendar = await Calendar.open({ dataDir, uri: URI, create: true });
    const tips = [1, 2, 3, 4, 5].map(tipOf);
    for (const tip of tips) await calendar.commit(tip);
    await calendar.addProof([0, 1, 2, 3, 4], proofTip(tips, 100));
    assert.equal(calendar.index.pendingCount, 0);
    for (const tip of tips) {
      const found = await calendar.lookup(tip);
      assert.equal(found.state, 'found');
      if (found.state !== 'found') continue;
      assert.deepEqual(bitcoinHeights(found.timestamp), [100]);
      // parses back and recomputes from the commitment
      const bytes = found.timestamp.toBytes();
      assert.ok(Timestamp.fromBytes(tip, bytes).equals(found.timestamp));
      assert.equal(
        [...found.timestamp.allAttestations()].filter(([, a]) => a instanceof PendingAttestation).length,
        0,
      );
    }
    await calendar.close();
  });

  it('answers GET /timestamp with a proof built once, equal to a fresh build and unchanged by a later proof', async (t) => {
    const calendar = await Calendar.open({ dataDir: tempDir(t), uri: URI, create: true });
    t.after(() => calendar.close());
    const tips = [1, 2, 3, 4].map(tipOf);
    for (const tip of tips) await calendar.commit(tip);
    assert.deepEqual(await calendar.answer(tipOf(1)), { state: 'pending', record: 0 });
    assert.deepEqual(await calendar.answer(tipOf(9)), { state: 'unknown' });

    await calendar.addProof([0, 1, 2], proofTip(tips.slice(0, 3), 100));
    const first = await calendar.answer(tipOf(2));
    const fresh = await calendar.lookup(tipOf(2));
    assert.ok(first.state === 'found' && fresh.state === 'found');
    assert.equal(toHex(first.bytes), toHex(fresh.timestamp.toBytes()), 'byte-identical to a fresh build');
    const second = await calendar.answer(tipOf(2));
    assert.ok(second.state === 'found');
    assert.equal(second.bytes, first.bytes, "the second answer is the first one's bytes");
    assert.deepEqual(await calendar.answer(tipOf(4)), { state: 'pending', record: 3 });

    // a later proof covers commitment 1 again: the answer, cached or rebuilt, stays the first proof's
    await calendar.addProof([1, 3], proofTip([tips[1] as Uint8Array, tips[3] as Uint8Array], 200));
    const again = await calendar.answer(tipOf(2));
    assert.ok(again.state === 'found');
    assert.equal(toHex(again.bytes), toHex(first.bytes));
    const rebuilt = await calendar.lookup(tipOf(2));
    assert.ok(rebuilt.state === 'found');
    assert.equal(toHex(rebuilt.timestamp.toBytes()), toHex(first.bytes), 'a rebuild gives the same bytes');
    assert.equal((await calendar.answer(tipOf(4))).state, 'found');
  });

  it('serves the first proof of a commitment: a later proof changes no byte, and others stay pending', async (t) => {
    const calendar = await Calendar.open({ dataDir: tempDir(t), uri: URI, create: true });
    const tips = [1, 2, 3].map(tipOf);
    for (const tip of tips) await calendar.commit(tip);
    await calendar.addProof([0, 1], proofTip(tips.slice(0, 2), 100));
    const before = await calendar.lookup(tips[1] as Uint8Array);
    assert.equal(before.state, 'found');
    // a second source's proof of the same commitment, in another block
    await calendar.addProof([1], proofTip(tips.slice(1, 2), 200));
    const after = await calendar.lookup(tips[1] as Uint8Array);
    assert.equal(after.state, 'found');
    if (before.state === 'found' && after.state === 'found') {
      assert.deepEqual(bitcoinHeights(after.timestamp), [100]);
      assert.equal(toHex(after.timestamp.toBytes()), toHex(before.timestamp.toBytes()));
    }
    assert.equal(calendar.index.lookup(tips[1] as Uint8Array).state, 'proved');
    const state = calendar.index.lookup(tips[1] as Uint8Array);
    assert.deepEqual(state.state === 'proved' && state.proofs.map((p) => p.proof), [3, 4]);
    assert.deepEqual(await calendar.lookup(tips[2] as Uint8Array), { state: 'pending' });
    assert.deepEqual([...calendar.index.pendingRecords()], [2]);
    await calendar.close();
  });

  it('refuses a proof whose tip is not the root of its commitments, before writing it', async (t) => {
    const calendar = await Calendar.open({ dataDir: tempDir(t), uri: URI, create: true });
    await calendar.commit(tipOf(1));
    await calendar.commit(tipOf(2));
    await assert.rejects(calendar.addProof([0, 1], proofTip([tipOf(2), tipOf(1)], 1)), /not the merkle root/);
    await assert.rejects(calendar.addProof([0, 5], proofTip([tipOf(1)], 1)), /record 5 is not a commitment/);
    assert.equal(calendar.journal.head.records, 2);
    await calendar.close();
  });

  it('catches the index up after records it missed, and reindexes to identical answers', async (t) => {
    const dataDir = tempDir(t);
    let calendar = await Calendar.open({ dataDir, uri: URI, create: true });
    const tips = Array.from({ length: 20 }, (_, i) => tipOf(i));
    for (const tip of tips.slice(0, 10)) await calendar.commit(tip);
    await calendar.addProof([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], proofTip(tips.slice(0, 10), 300));
    await calendar.close();

    // records written while no index followed (as after a crash between journal and index)
    const journal = await Journal.open({ dir: join(dataDir, 'journal') });
    for (const tip of tips.slice(10)) await journal.append(RecordKind.Commitment, tip);
    await journal.append(
      RecordKind.Proof,
      encodeProofPayload({ commitments: [11, 12, 13], tip: proofTip(tips.slice(10, 13), 301) }),
    );
    await journal.close();

    calendar = await Calendar.open({ dataDir, uri: URI });
    assert.equal(calendar.index.applied.number, 22);
    const before = await Promise.all(tips.map(async (tip) => answerBytes(await calendar.lookup(tip))));
    assert.equal(before.filter((b) => b.startsWith('found')).length, 13);
    await calendar.close();

    rmSync(join(dataDir, 'index'), { recursive: true });
    calendar = await Calendar.open({ dataDir, uri: URI });
    const after = await Promise.all(tips.map(async (tip) => answerBytes(await calendar.lookup(tip))));
    assert.deepEqual(after, before);
    let progress = 0;
    await calendar.reindex(() => progress++);
    assert.deepEqual(
      await Promise.all(tips.map(async (tip) => answerBytes(await calendar.lookup(tip)))),
      before,
    );
    await calendar.close();
  });

  it("opens with the index's position: cuts off a group commit a power cut damaged, refuses without the index", async (t) => {
    const dataDir = tempDir(t);
    let calendar = await Calendar.open({ dataDir, uri: URI, create: true });
    for (const i of [0, 1, 2]) await calendar.commit(tipOf(i));
    await calendar.close();
    /** A group commit the index never applied, whose first record a power cut left as zeros. */
    const damagedBatch = async () => {
      const journal = await Journal.open({ dir: join(dataDir, 'journal') });
      const batch = await Promise.all([3, 4, 5].map((i) => journal.append(RecordKind.Commitment, tipOf(i))));
      await journal.close();
      const path = join(dataDir, 'journal', '00000000000000000000.seg');
      const bytes = readFileSync(path);
      const first = batch[0] as StoredRecord;
      bytes.fill(0, first.offset + 4, first.offset + first.size);
      writeFileSync(path, bytes);
    };
    await damagedBatch();
    const log = memoryLog();
    calendar = await Calendar.open({ dataDir, uri: URI, log });
    assert.equal(calendar.journal.head.records, 3);
    assert.match(log.lines.find((l) => l.level === 'error')?.msg ?? '', /never acknowledged/);
    assert.deepEqual(await calendar.lookup(tipOf(2)), { state: 'pending' });
    await calendar.close();

    await damagedBatch();
    rmSync(join(dataDir, 'index'), { recursive: true });
    await assert.rejects(Calendar.open({ dataDir, uri: URI }), /record 3 at offset \d+: .*refusing to start/);
  });

  it('an index that fails to take a batch catches up from the journal before the next append', async (t) => {
    const dataDir = tempDir(t);
    const log = memoryLog();
    const calendar = await Calendar.open({ dataDir, uri: URI, create: true, log });
    await calendar.commit(tipOf(0));
    injectIndexFault(calendar.index, 1);
    await calendar.commit(tipOf(1));
    await Promise.all([2, 3, 4].map((i) => calendar.commit(tipOf(i))));
    for (const i of [0, 1, 2, 3, 4])
      assert.deepEqual(await calendar.lookup(tipOf(i)), { state: 'pending' }, `tip ${i}`);
    assert.equal(calendar.index.applied.number, 5);
    assert.match(
      log.lines.find((l) => l.level === 'error')?.msg ?? '',
      /a listener could not take durable records/,
    );
    await calendar.close();
  });

  it('stops the journal when the index cannot catch up either, and a restart loses nothing', async (t) => {
    const dataDir = tempDir(t);
    let calendar = await Calendar.open({ dataDir, uri: URI, create: true });
    await calendar.commit(tipOf(0));
    injectIndexFault(calendar.index, 2);
    const reason =
      /records 1\.\.1 are durable, but a listener could not take them \(injected fault: MDB_MAP_FULL\) nor catch up/;
    await assert.rejects(calendar.commit(tipOf(1)), reason);
    assert.match((await calendar.journal.failed).message, reason);
    await assert.rejects(calendar.commit(tipOf(2)), reason);
    await calendar.close();
    calendar = await Calendar.open({ dataDir, uri: URI });
    assert.equal(calendar.journal.head.records, 2);
    // record 1 was never acknowledged, but it is durable: kept, and indexed on open
    for (const i of [0, 1]) assert.deepEqual(await calendar.lookup(tipOf(i)), { state: 'pending' });
    await calendar.commit(tipOf(2));
    await calendar.close();
  });
});

/**
 * A fault the real index cannot be made to produce on demand: its next `times` updates throw, as LMDB
 * does when its map is full.
 */
function injectIndexFault(index: CalendarIndex, times: number): void {
  const apply = index.apply.bind(index);
  let left = times;
  index.apply = (batch) => {
    if (left-- > 0) throw new Error('injected fault: MDB_MAP_FULL');
    apply(batch);
  };
}

function answerBytes(lookup: Awaited<ReturnType<Calendar['lookup']>>): string {
  return lookup.state === 'found' ? `found ${toHex(lookup.timestamp.toBytes())}` : lookup.state;
}
