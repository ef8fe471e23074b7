/**
 * GET /timestamp's answers: a proved commitment's bytes are built once, equal a freshly built proof, and
 * never change when a later proof covers it too; the cache that holds them stays within its size.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { AnswerCache } from '../../src/calendar/answer-cache.js';
import { Calendar } from '../../src/calendar/calendar.js';
import {
  BitcoinBlockHeaderAttestation,
  MerkleTree,
  OpAppend,
  sha256,
  Timestamp,
  toHex,
} from '../../src/ots/index.js';
import { tempDir } from '../helpers/temp-dir.js';

const URI = 'http://127.0.0.1:14788';
const tipOf = (i: number) => sha256(new Uint8Array([i, i, i]));

function proofTip(commitments: Uint8Array[], height: number): Timestamp {
  const tip = new Timestamp(new MerkleTree(commitments.map((c) => sha256(c))).root);
  tip.ops
    .add(new OpAppend(new Uint8Array([0xaa, height & 0xff])))
    .attestations.add(new BitcoinBlockHeaderAttestation(height));
  return tip;
}

describe('proof answers', () => {
  it('are the freshly built proof, built once, unchanged by a second proof; pending and unknown read the index', async (t) => {
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

  it('the cache keeps the most recently used answers within its size, dropping the least recently used', () => {
    const MAX = 100;
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 20 }), fc.integer({ min: 1, max: 120 })), {
          maxLength: 200,
        }),
        (steps) => {
          const cache = new AnswerCache(MAX);
          // the model: what the cache holds, least recently used first
          let held: [string, Uint8Array][] = [];
          const total = () => held.reduce((n, [, b]) => n + b.byteLength, 0);
          for (const [isSet, k, size] of steps) {
            const key = String(k);
            const mine = held.find(([held]) => held === key);
            if (isSet) {
              const bytes = new Uint8Array(size).fill(k);
              cache.set(key, bytes);
              held = held.filter(([held]) => held !== key);
              if (size <= MAX) held.push([key, bytes]);
              while (total() > MAX) held.shift();
            } else {
              assert.equal(cache.get(key), mine?.[1]);
              if (mine) held = [...held.filter(([held]) => held !== key), mine];
            }
            assert.equal(cache.size, total());
            assert.ok(cache.size <= MAX);
          }
          for (const [key, bytes] of held) assert.equal(cache.get(key), bytes);
        },
      ),
    );
  });
});
