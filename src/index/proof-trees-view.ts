/**
 * Proofs: where each proof record is in the journal, and every node of its merkle tree, so the path
 * from any commitment to the proof's tip is a few lookups. A proof whose tip is not the merkle root
 * of its commitments is refused. A level's nodes are kept BLOCK_NODES to an entry: one write per 32
 * nodes rather than one per node (a node's write cost more than hashing it), and one key per block
 * on disk. Proofs are applied in record order and a tree's blocks in key order: both are written in
 * LMDB's append mode, so their pages are full.
 * @module
 */
import { NODE_BYTES } from '../journal/merkle-levels.js';
import { equalBytes, type Op, OpAppend, OpPrepend, OpSHA256, toHex } from '../ots/index.js';
import { IndexConsistencyError } from './errors.js';
import type { IndexDatabase, IndexedRecord, IndexView, OpenDatabase } from './index-view.js';
import { readU64, u32, u64 } from './keys.js';

export interface ProofLocation {
  segment: number;
  offset: number;
  leaves: number;
}

const SHA256 = new OpSHA256();
/** Nodes of one level kept in one entry (1 KiB: several entries to a page, no overflow pages). */
const BLOCK_NODES = 32;

export class ProofTreesView implements IndexView {
  /** proof record number -> its segment, offset and number of leaves */
  private readonly locations: IndexDatabase;
  /** (proof, depth, block) -> merkle tree nodes block*BLOCK_NODES.. of that level, concatenated */
  private readonly nodes: IndexDatabase;

  constructor(open: OpenDatabase) {
    this.locations = open('proofs');
    this.nodes = open('tree');
  }

  apply(entry: IndexedRecord): void {
    if (entry.kind !== 'proof') return;
    const { record, proof, tree } = entry;
    if (!equalBytes(tree.root, proof.tip.msg)) {
      throw new IndexConsistencyError(
        `journal record ${record.number}: proof tip ${toHex(proof.tip.msg)} is not the merkle root of its commitments`,
      );
    }
    tree.sizes.forEach((size, depth) => {
      const level = tree.level(depth);
      for (let first = 0; first < size; first += BLOCK_NODES) {
        const block = level.subarray(first * NODE_BYTES, Math.min(size, first + BLOCK_NODES) * NODE_BYTES);
        this.nodes.putSync(blockKey(record.number, depth, first / BLOCK_NODES), block, { append: true });
      }
    });
    this.locations.putSync(
      u64(record.number),
      Buffer.concat([u64(record.segment), u64(record.offset), u32(tree.leaves)]),
      { append: true },
    );
  }

  proofLocation(proof: number): ProofLocation | undefined {
    const value = this.locations.get(u64(proof));
    if (!value) return undefined;
    return { segment: readU64(value, 0), offset: readU64(value, 8), leaves: value.readUInt32BE(16) };
  }

  /** The ops from sha256(commitment) (the leaf) to the proof's tip. */
  merklePath(proof: number, leaf: number): Op[] {
    const location = this.proofLocation(proof);
    if (!location) throw new IndexConsistencyError(`index: no proof record ${proof}`);
    const ops: Op[] = [];
    let size = location.leaves;
    let i = leaf;
    for (let depth = 0; size > 1; depth++) {
      const sibling = i ^ 1;
      if (sibling < size) {
        const block = this.nodes.get(blockKey(proof, depth, Math.floor(sibling / BLOCK_NODES)));
        const at = (sibling % BLOCK_NODES) * NODE_BYTES;
        if (!block || block.byteLength < at + NODE_BYTES)
          throw new IndexConsistencyError(`index: proof ${proof} lacks merkle node ${depth}/${sibling}`);
        const node = new Uint8Array(block.subarray(at, at + NODE_BYTES));
        ops.push(i % 2 === 0 ? new OpAppend(node) : new OpPrepend(node), SHA256);
      }
      i >>= 1;
      size = Math.ceil(size / 2);
    }
    return ops;
  }
}

function blockKey(proof: number, depth: number, block: number): Buffer {
  const key = Buffer.allocUnsafe(13);
  u64(proof).copy(key, 0);
  key.writeUInt8(depth, 8);
  key.writeUInt32BE(block, 9);
  return key;
}
