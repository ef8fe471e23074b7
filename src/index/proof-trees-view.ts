/**
 * Proofs: where each proof record is in the journal, and every node of its merkle tree, so the path
 * from any commitment to the proof's tip is a few lookups. A proof whose tip is not the merkle root
 * of its commitments is refused. Proofs are applied in record order and a tree's nodes in key order:
 * both are written in LMDB's append mode, so their pages are full.
 * @module
 */
import {
  equalBytes,
  MerkleTree,
  type Op,
  OpAppend,
  OpPrepend,
  OpSHA256,
  sha256,
  toHex,
} from '../ots/index.js';
import { IndexConsistencyError } from './errors.js';
import type { IndexDatabase, IndexedRecord, IndexView, OpenDatabase } from './index-view.js';
import { readU64, u32, u64 } from './keys.js';

export interface ProofLocation {
  segment: number;
  offset: number;
  leaves: number;
}

const SHA256 = new OpSHA256();

export class ProofTreesView implements IndexView {
  /** proof record number -> its segment, offset and number of leaves */
  private readonly locations: IndexDatabase;
  /** (proof, depth, index) -> merkle tree node */
  private readonly nodes: IndexDatabase;

  constructor(open: OpenDatabase) {
    this.locations = open('proofs');
    this.nodes = open('tree');
  }

  apply(entry: IndexedRecord): void {
    if (entry.kind !== 'proof') return;
    const { record, proof } = entry;
    const tree = new MerkleTree(entry.commitments.map((c) => sha256(c)));
    if (!equalBytes(tree.root, proof.tip.msg)) {
      throw new IndexConsistencyError(
        `journal record ${record.number}: proof tip ${toHex(proof.tip.msg)} is not the merkle root of its commitments`,
      );
    }
    tree.levels.forEach((level, depth) => {
      level.forEach((node, i) => {
        this.nodes.putSync(nodeKey(record.number, depth, i), Buffer.from(node), { append: true });
      });
    });
    this.locations.putSync(
      u64(record.number),
      Buffer.concat([u64(record.segment), u64(record.offset), u32(entry.commitments.length)]),
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
        const node = this.nodes.get(nodeKey(proof, depth, sibling));
        if (!node)
          throw new IndexConsistencyError(`index: proof ${proof} lacks merkle node ${depth}/${sibling}`);
        ops.push(
          i % 2 === 0 ? new OpAppend(new Uint8Array(node)) : new OpPrepend(new Uint8Array(node)),
          SHA256,
        );
      }
      i >>= 1;
      size = Math.ceil(size / 2);
    }
    return ops;
  }
}

function nodeKey(proof: number, depth: number, index: number): Buffer {
  const key = Buffer.allocUnsafe(13);
  u64(proof).copy(key, 0);
  key.writeUInt8(depth, 8);
  key.writeUInt32BE(index, 9);
  return key;
}
