/**
 * Commitment ranges and proof trees of records from another server are checked without being
 * expanded: at most MAX_COVERED_RECORDS numbers a record, refused on write and (from another server)
 * on read; the merkle root is computed leaf by leaf and equals MerkleTree's for every shape.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { merkleRoot } from '../../src/journal/merkle-root.js';
import { MAX_COVERED_RECORDS, rangeNumbers, readRangeList, writeRanges } from '../../src/journal/ranges.js';
import { MerkleTree, Reader, sha256, toHex, Writer } from '../../src/ots/index.js';

const leavesOf = (n: number) => Array.from({ length: n }, (_, i) => sha256(new Uint8Array([i, i >> 8])));

describe('commitment ranges', () => {
  it('are read as ranges and expanded one number at a time', () => {
    const w = new Writer();
    writeRanges(w, [0, 1, 2, 7, 9, 10]);
    const ranges = readRangeList(new Reader(w.toBytes()), 'test', { below: 11, most: 11 });
    assert.deepEqual(ranges, [
      { first: 0, count: 3 },
      { first: 7, count: 1 },
      { first: 9, count: 2 },
    ]);
    assert.deepEqual([...rangeNumbers(ranges)], [0, 1, 2, 7, 9, 10]);
  });

  it(`cover at most ${MAX_COVERED_RECORDS} records: never written, refused from another server`, () => {
    assert.equal(MAX_COVERED_RECORDS, 2 ** 18);
    const all = Array.from({ length: MAX_COVERED_RECORDS + 1 }, (_, i) => i);
    assert.throws(
      () => writeRanges(new Writer(), all),
      /262145 record numbers: one record may name at most 262144/,
    );
    const w = new Writer();
    w.writeVarUint(2);
    w.writeVarUint(0);
    w.writeVarUint(MAX_COVERED_RECORDS);
    w.writeVarUint(MAX_COVERED_RECORDS + 5);
    w.writeVarUint(1);
    const bytes = Buffer.concat([w.toBytes(), new Uint8Array(8192)]);
    const bounds = { below: 2 ** 30, most: 2 ** 30 };
    assert.throws(
      () => readRangeList(new Reader(bytes), 'proof record', bounds),
      /proof record: ranges cover more than the 262144 commitments one record may cover/,
    );
    // nor from this node's own journal, which never holds more
    assert.throws(
      () => readRangeList(new Reader(bytes), 'proof record'),
      /proof record: ranges cover more than the 262144 commitments/,
    );
  });

  it('name up to all of them in a few bytes, as a long wait for a confirmation does', () => {
    for (const count of [1, 10_000, 45_000, MAX_COVERED_RECORDS]) {
      const w = new Writer();
      writeRanges(
        w,
        Array.from({ length: count }, (_, i) => i),
      );
      // the smallest payload: the ranges and a 32-byte tip with a one-op tree
      const payload = Buffer.concat([w.toBytes(), new Uint8Array(34)]);
      const ranges = readRangeList(new Reader(payload), 'proof record', { below: count, most: count });
      assert.deepEqual(ranges, [{ first: 0, count }]);
    }
  });
});

describe('the streamed merkle root', () => {
  it('is the root MerkleTree builds, for every size up to 70 and around powers of two', () => {
    for (const n of [...Array.from({ length: 70 }, (_, i) => i + 1), 127, 128, 129, 1000, 1023, 1024, 1025]) {
      const leaves = leavesOf(n);
      assert.equal(toHex(merkleRoot(leaves)), toHex(new MerkleTree(leaves).root), `${n} leaves`);
    }
    assert.throws(() => merkleRoot([]), /merkle root: no leaves/);
  });
});
