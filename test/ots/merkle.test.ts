import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  catSha256,
  catSha256d,
  MerkleTree,
  makeMerkleTree,
  OtsValueError,
  Timestamp,
  toHex,
  Writer,
} from 'otsd/ots';

const utf8 = (s: string) => new TextEncoder().encode(s);

// Roots for leaves bytes([i]) for i < n, from python-opentimestamps' test_timestamp.py.
const ROOTS = [
  '00',
  'b413f47d13ee2fe6c845b2ee141af81de858df4ec549a58b7970bb96645bc8d2',
  'e6aa639123d8aac95d13d365ec3779dade4b49c083a8fed97d7bfc0d89bb6a5e',
  '7699a4fdd6b8b6908a344f73b8f05c8e1400f7253f544602c442ff5c65504b24',
  'aaa9609d0c949fee22c1c941a4432f32dc1c2de939e4af25207f0dc62df0dbd8',
  'ebdb4245f648b7e77b60f4f8a99a6d0529d1d372f98f35478b3284f16da93c06',
  'ba4603a311279dea32e8958bfb660c86237157bf79e6bfee857803e811d91b8f',
];

const leaves = (n: number) => Array.from({ length: n }, (_, i) => new Uint8Array([i]));

/** The message reached by applying `ops` in order. */
const follow = (msg: Uint8Array, ops: { call(m: Uint8Array): Uint8Array }[]) =>
  ops.reduce((m, op) => op.call(m), msg);

describe('catSha256', () => {
  it('hashes left ‖ right and records it in both', () => {
    const left = new Timestamp(utf8('foo'));
    const right = new Timestamp(utf8('bar'));
    const tip = catSha256(left, right);
    assert.equal(toHex(tip.msg), 'c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a3960714caef0c4f2');
    assert.deepEqual(
      [...left.ops].map(([op]) => String(op)),
      ['append 626172'],
    );
    assert.deepEqual(
      [...right.ops].map(([op]) => String(op)),
      ['prepend 666f6f'],
    );
    // both edges lead to the same node
    assert.equal([...left.ops][0]?.[1], [...right.ops][0]?.[1]);
  });
  it('catSha256d hashes twice', () => {
    const tip = catSha256d(utf8('foo'), utf8('bar'));
    assert.equal(tip.msg.byteLength, 32);
    assert.notEqual(toHex(tip.msg), 'c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a3960714caef0c4f2');
  });
});

describe('makeMerkleTree', () => {
  ROOTS.forEach((root, i) => {
    it(`${i + 1} leaves`, () => {
      const stamps = leaves(i + 1).map((l) => new Timestamp(l));
      const tip = makeMerkleTree(stamps);
      assert.equal(toHex(tip.msg), root);
      assert.equal(toHex(new MerkleTree(leaves(i + 1)).root), root);
    });
  });
  it('needs at least one leaf', () => {
    assert.throws(() => makeMerkleTree([]), OtsValueError);
    assert.throws(() => new MerkleTree([]), OtsValueError);
  });
});

describe('MerkleTree paths', () => {
  it('every leaf path reaches the root and equals the ops makeMerkleTree records', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 70 }),
        (raw) => {
          const tree = new MerkleTree(raw);
          const stamps = raw.map((l) => new Timestamp(l));
          const tip = makeMerkleTree(stamps);
          assert.equal(toHex(tree.root), toHex(tip.msg));
          raw.forEach((leaf, i) => {
            const path = tree.path(i);
            assert.equal(toHex(follow(leaf, path)), toHex(tree.root));
            // walk the timestamp along the same ops
            let node: Timestamp | undefined = stamps[i];
            for (const op of path) node = node?.ops.get(op);
            assert.equal(node, tip);
          });
        },
      ),
      { numRuns: 200 },
    );
  });
  it('writePath writes the bytes of the path ops', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 200 }), { minLength: 1, maxLength: 70 }),
        (raw) => {
          const tree = new MerkleTree(raw);
          raw.forEach((_, i) => {
            const ops = new Writer();
            for (const op of tree.path(i)) op.write(ops);
            const written = new Writer();
            tree.writePath(i, written);
            assert.equal(toHex(written.toBytes()), toHex(ops.toBytes()));
          });
        },
      ),
      { numRuns: 100 },
    );
  });
  it('refuses an index out of range', () => {
    assert.throws(() => new MerkleTree(leaves(3)).path(3), RangeError);
    assert.throws(() => new MerkleTree(leaves(3)).path(-1), RangeError);
    assert.throws(() => new MerkleTree(leaves(3)).writePath(3, new Writer()), RangeError);
  });
});
