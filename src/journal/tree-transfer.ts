/**
 * Proofs' merkle trees handed from the thread that built them to the one that uses them: the nodes
 * of every tree in one buffer, and (proof record, leaves) of each in another (no object copied
 * between threads).
 * @module
 */
import { MerkleLevels } from './merkle-levels.js';

export interface PackedTrees {
  /** (proof record, leaves) of each tree, its nodes in `treeBytes`, one tree after another. */
  trees: Float64Array;
  treeBytes: Uint8Array;
}

/** `trees` in two buffers, for postMessage to hand over. */
export function packTrees(trees: ReadonlyMap<number, MerkleLevels>): PackedTrees {
  const entries = new Float64Array(trees.size * 2);
  let bytes = 0;
  for (const tree of trees.values()) bytes += tree.byteLength;
  const nodes = new Uint8Array(bytes);
  let i = 0;
  let at = 0;
  for (const [record, tree] of trees) {
    entries.set([record, tree.leaves], 2 * i++);
    nodes.set(tree.nodeBytes, at);
    at += tree.byteLength;
  }
  return { trees: entries, treeBytes: nodes };
}

/** The trees packed by packTrees, by proof record: views of its bytes. */
export function unpackTrees(packed: PackedTrees): Map<number, MerkleLevels> {
  const trees = new Map<number, MerkleLevels>();
  const nodes = Buffer.from(
    packed.treeBytes.buffer,
    packed.treeBytes.byteOffset,
    packed.treeBytes.byteLength,
  );
  for (let i = 0, at = 0; i < packed.trees.length; i += 2) {
    const leaves = packed.trees[i + 1] as number;
    const length = MerkleLevels.byteLengthOf(leaves);
    trees.set(packed.trees[i] as number, MerkleLevels.fromNodes(leaves, nodes.subarray(at, at + length)));
    at += length;
  }
  return trees;
}
