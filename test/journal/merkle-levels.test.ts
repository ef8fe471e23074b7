/**
 * MerkleLevels, every node in one buffer, holds MerkleTree's levels (python-opentimestamps'
 * make_merkle_tree) over the sha256 of each commitment, for every shape of tree.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MerkleLevels } from '../../src/journal/merkle-levels.js';
import { MerkleTree, sha256, toHex } from '../../src/ots/index.js';

const commitments = (n: number) => Array.from({ length: n }, (_, i) => new Uint8Array([i, i >> 8, 7]));

describe('MerkleLevels', () => {
  it("holds MerkleTree's every level, root included, for 1 to 70 and 1,025 leaves", () => {
    for (const n of [...Array.from({ length: 70 }, (_, i) => i + 1), 1025]) {
      const tree = new MerkleTree(commitments(n).map((c) => sha256(c)));
      const levels = MerkleLevels.of(commitments(n), n);
      assert.equal(levels.sizes.length, tree.levels.length, `${n} leaves`);
      for (const [depth, level] of tree.levels.entries())
        assert.equal(toHex(levels.level(depth)), level.map(toHex).join(''), `${n} leaves, depth ${depth}`);
      assert.equal(toHex(levels.root), toHex(tree.root));
      assert.equal(levels.leaves, n);
    }
  });

  it('refuses no leaves, and a count the commitments do not match', () => {
    assert.throws(() => MerkleLevels.of([], 0), /no leaves/);
    assert.throws(() => MerkleLevels.of(commitments(3), 2), /more than 2 leaves/);
    assert.throws(() => MerkleLevels.of(commitments(3), 4), /3 leaves, not 4/);
  });

  it('is the same tree taken from the nodes another thread built, and refuses nodes of another size', () => {
    for (const n of [1, 2, 7, 600]) {
      const built = MerkleLevels.of(commitments(n), n);
      const taken = MerkleLevels.fromNodes(n, Buffer.from(built.nodeBytes));
      assert.deepEqual(taken.sizes, built.sizes);
      assert.equal(toHex(taken.root), toHex(built.root), `${n} leaves`);
      assert.equal(toHex(taken.level(0)), toHex(built.level(0)));
    }
    const seven = MerkleLevels.of(commitments(7), 7).nodeBytes;
    assert.throws(() => MerkleLevels.fromNodes(8, seven), /bytes of nodes for 8 leaves, not/);
    assert.throws(() => MerkleLevels.fromNodes(7, seven.subarray(32)), /for 7 leaves/);
  });
});
