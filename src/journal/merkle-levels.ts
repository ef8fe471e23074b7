/**
 * The merkle tree of a record's commitments (python-opentimestamps' make_merkle_tree, as MerkleTree
 * and merkleRoot build it) in one buffer: every level's 32-byte nodes, the leaves (sha256 of each
 * commitment) first. No object per node: a pair is hashed where it lies, and the index writes a
 * level's blocks straight from it. A mirror builds it once to check a proof and hands it to its
 * index, which would otherwise hash every node again.
 * @module
 */
import { hash } from 'node:crypto';

/** Bytes of a node: sha256 digests all. */
export const NODE_BYTES = 32;

export class MerkleLevels {
  /** Where each level starts in `nodes`, in nodes; the leaves first, the root alone last. */
  private readonly starts: readonly number[];
  /** How many nodes each level has. */
  readonly sizes: readonly number[];
  private readonly nodes: Buffer;

  private constructor(leaves: number, nodes?: Buffer) {
    const shape = shapeOf(leaves);
    this.starts = shape.starts;
    this.sizes = shape.sizes;
    const bytes = shape.bytes;
    if (nodes && nodes.byteLength !== bytes) {
      throw new RangeError(
        `merkle tree: ${nodes.byteLength} bytes of nodes for ${leaves} leaves, not ${bytes}`,
      );
    }
    this.nodes = nodes ?? Buffer.allocUnsafe(bytes);
  }

  /** Bytes of the nodes of a tree of `leaves` leaves. */
  static byteLengthOf(leaves: number): number {
    return shapeOf(leaves).bytes;
  }

  /**
   * The tree of `leaves` leaves whose nodes another thread built (MerkleLevels.of) and sent as
   * `nodeBytes`: taken as they are.
   */
  static fromNodes(leaves: number, nodes: Buffer): MerkleLevels {
    return new MerkleLevels(leaves, nodes);
  }

  /** The tree over `commitments` (`count` of them, at least one). */
  static of(commitments: Iterable<Uint8Array>, count: number): MerkleLevels {
    if (count < 1) throw new RangeError('merkle tree: no leaves');
    const tree = new MerkleLevels(count);
    const { nodes } = tree;
    let leaf = 0;
    for (const commitment of commitments) {
      if (leaf === count) throw new RangeError(`merkle tree: more than ${count} leaves`);
      writeSha256(nodes, leaf++ * NODE_BYTES, commitment);
    }
    if (leaf !== count) throw new RangeError(`merkle tree: ${leaf} leaves, not ${count}`);
    for (let depth = 0; depth + 1 < tree.sizes.length; depth++) {
      const at = (tree.starts[depth] as number) * NODE_BYTES;
      const size = tree.sizes[depth] as number;
      const next = (tree.starts[depth + 1] as number) * NODE_BYTES;
      for (let i = 0; i + 1 < size; i += 2)
        writeSha256(
          nodes,
          next + (i / 2) * NODE_BYTES,
          nodes.subarray(at + i * NODE_BYTES, at + (i + 2) * NODE_BYTES),
        );
      // an odd last node is carried up unhashed
      if (size % 2 === 1)
        nodes.copy(
          nodes,
          next + ((size - 1) / 2) * NODE_BYTES,
          at + (size - 1) * NODE_BYTES,
          at + size * NODE_BYTES,
        );
    }
    return tree;
  }

  /** The leaves. */
  get leaves(): number {
    return this.sizes[0] as number;
  }

  /** The nodes of level `depth` (0: the leaves), side by side. */
  level(depth: number): Buffer {
    const start = (this.starts[depth] as number) * NODE_BYTES;
    return this.nodes.subarray(start, start + (this.sizes[depth] as number) * NODE_BYTES);
  }

  get root(): Uint8Array {
    return this.level(this.sizes.length - 1);
  }

  /** Every level's nodes, side by side, the leaves first (see fromNodes): to be read, not changed. */
  get nodeBytes(): Buffer {
    return this.nodes;
  }

  /** Bytes it takes in memory. */
  get byteLength(): number {
    return this.nodes.byteLength;
  }
}

/** Where each level of a tree of `leaves` leaves starts, in nodes, how many nodes it has, and the bytes of all. */
function shapeOf(leaves: number): { starts: number[]; sizes: number[]; bytes: number } {
  const starts = [0];
  const sizes = [leaves];
  for (let size = leaves; size > 1; size = Math.ceil(size / 2)) {
    starts.push((starts.at(-1) as number) + size);
    sizes.push(Math.ceil(size / 2));
  }
  return { starts, sizes, bytes: ((starts.at(-1) as number) + 1) * NODE_BYTES };
}

/** sha256 of `data`, written into `target` at `at`: no digest object made and copied. */
function writeSha256(target: Buffer, at: number, data: Uint8Array): void {
  target.write(hash('sha256', data, 'binary'), at, NODE_BYTES, 'latin1');
}
