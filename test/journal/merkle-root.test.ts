/**
 * merkleRoot, leaf by leaf, gives MerkleTree's root (python-opentimestamps' make_merkle_tree) for
 * every shape of tree, digests of any length included.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { merkleRoot } from '../../src/journal/merkle-root.js';
import { MerkleTree, sha256, toHex } from '../../src/ots/index.js';

const leaves = (n: number, bytes = 32) =>
  Array.from({ length: n }, (_, i) =>
    bytes === 32 ? sha256(new Uint8Array([i, i >> 8])) : new Uint8Array(bytes).fill(i),
  );

describe('merkleRoot', () => {
  it("is MerkleTree's root for 1 to 70 leaves", () => {
    for (let n = 1; n <= 70; n++)
      assert.equal(toHex(merkleRoot(leaves(n))), toHex(new MerkleTree(leaves(n)).root), `${n} leaves`);
  });

  it('joins leaves that are not 32 bytes as MerkleTree does', () => {
    for (const n of [2, 3, 5])
      assert.equal(toHex(merkleRoot(leaves(n, 20))), toHex(new MerkleTree(leaves(n, 20)).root));
  });

  it('refuses no leaves', () => {
    assert.throws(() => merkleRoot([]), /no leaves/);
  });
});
