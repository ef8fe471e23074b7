/**
 * The root of a proof's merkle tree (python-opentimestamps' make_merkle_tree, as MerkleTree builds
 * it) from its leaves one at a time, holding one node per level: a record from another server is
 * checked without its leaves or its tree in memory.
 * @module
 */
import { concatBytes, sha256 } from '../ots/index.js';

/** Where two digests are joined to be hashed: one buffer, not one a node. */
const pair = new Uint8Array(64);

function parent(left: Uint8Array, right: Uint8Array): Uint8Array {
  if (left.byteLength !== 32 || right.byteLength !== 32) return sha256(concatBytes(left, right));
  pair.set(left);
  pair.set(right, 32);
  return sha256(pair);
}

/**
 * The same root as `new MerkleTree([...leaves]).root`. make_merkle_tree pairs each level left to right
 * and carries an odd last item up unhashed, so the complete subtrees of 2^k leaves are hashed as they
 * fill (a binary counter, one pending node per level), and what is left at the end is joined from the
 * smallest up: the carried item meets its left neighbour at the first level where that exists.
 */
export function merkleRoot(leaves: Iterable<Uint8Array>): Uint8Array {
  /** Complete subtrees still waiting for a right sibling, the largest first. */
  const pending: { level: number; hash: Uint8Array }[] = [];
  for (const leaf of leaves) {
    let node = { level: 0, hash: leaf };
    for (let left = pending.at(-1); left?.level === node.level; left = pending.at(-1)) {
      pending.pop();
      node = { level: node.level + 1, hash: parent(left.hash, node.hash) };
    }
    pending.push(node);
  }
  let root = pending.pop()?.hash;
  if (!root) throw new RangeError('merkle root: no leaves');
  for (let left = pending.pop(); left; left = pending.pop()) root = parent(left.hash, root);
  return root;
}
