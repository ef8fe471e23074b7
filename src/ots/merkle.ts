/**
 * Merkle trees exactly as python-opentimestamps builds them (`cat_sha256`, `make_merkle_tree`). The
 * reference guarantees this algorithm never changes: each level pairs items left to right, and an odd
 * last item is carried up unhashed (a merkle-mountain-range shape, without committing leaf counts).
 * Bitcoin's block tree is different (it duplicates the odd item) and is not built here.
 * @module
 */
import { OtsValueError } from './errors.js';
import { type CryptOp, MAX_MSG_LENGTH, type Op, OpAppend, OpPrepend, OpSHA256 } from './op.js';
import type { Writer } from './serialize.js';
import { addChildOnRead, putChild, Timestamp } from './timestamp.js';

const SHA256 = new OpSHA256();

/**
 * What `hashOfPair` hashes, made anew only when a pair's length changes: a garbage typed array per
 * pair costs more than the copy into this one. Kept between calls up to an op's message limit only,
 * so that a MerkleTree over large leaves leaves no large buffer behind.
 */
let pair = new Uint8Array(0);

/** `op`'s digest of `left ‖ right`. */
function hashOfPair(op: CryptOp, left: Uint8Array, right: Uint8Array): Uint8Array {
  const length = left.length + right.length;
  let buffer = pair;
  if (buffer.length !== length) {
    buffer = new Uint8Array(length);
    if (length <= MAX_MSG_LENGTH) pair = buffer;
  }
  buffer.set(left, 0);
  buffer.set(right, left.length);
  return op.hashData(buffer);
}

/**
 * Timestamps `left ‖ right` then applies `op`: left gets `append(right.msg)`, right gets
 * `prepend(left.msg)`, both leading to one shared node. Returns the timestamp of the op's result.
 */
export function catThenUnaryOp(
  op: CryptOp,
  left: Timestamp | Uint8Array,
  right: Timestamp | Uint8Array,
): Timestamp {
  const l = left instanceof Timestamp ? left : new Timestamp(left);
  const r = right instanceof Timestamp ? right : new Timestamp(right);
  // The reference first gives left an append child of its own, then replaces it with right's
  // prepend child (the same message); setting it once leaves the same tree without the throwaway
  // node, and without `ops.set`'s check, which holds by construction.
  const prepend = new OpPrepend(l.msg);
  const existing = r.ops.get(prepend);
  // A new joined node's message (left ‖ right, which few callers read) is computed when first read;
  // the op's result is hashed from the two messages in a reused buffer.
  const joined = existing ?? addChildOnRead(r, prepend);
  putChild(l.ops, new OpAppend(r.msg), joined);
  if (existing) return joined.ops.add(op);
  const result = new Timestamp(hashOfPair(op, l.msg, r.msg));
  putChild(joined.ops, op, result);
  return result;
}

/** sha256(left ‖ right), recorded in both timestamps. */
export function catSha256(left: Timestamp | Uint8Array, right: Timestamp | Uint8Array): Timestamp {
  return catThenUnaryOp(SHA256, left, right);
}

/** sha256(sha256(left ‖ right)), recorded in both timestamps. */
export function catSha256d(left: Timestamp | Uint8Array, right: Timestamp | Uint8Array): Timestamp {
  return catSha256(left, right).ops.add(SHA256);
}

/**
 * Builds the merkle tree over `timestamps` in place (each gets the ops of its path) and returns the
 * timestamp of the tip. One timestamp is its own tip.
 */
export function makeMerkleTree(
  timestamps: readonly Timestamp[],
  binop: (left: Timestamp, right: Timestamp) => Timestamp = catSha256,
): Timestamp {
  if (timestamps.length === 0) throw new OtsValueError('makeMerkleTree: need at least one timestamp');
  let level = timestamps;
  while (level.length > 1) {
    const next: Timestamp[] = [];
    for (let i = 0; i + 1 < level.length; i += 2)
      next.push(binop(level[i] as Timestamp, level[i + 1] as Timestamp));
    if (level.length % 2 === 1) next.push(level[level.length - 1] as Timestamp);
    level = next;
  }
  return level[0] as Timestamp;
}

/**
 * The same tree as `makeMerkleTree`, over raw 32-byte-or-any leaves, kept as hash levels so that the
 * path of any leaf can be produced on demand without building timestamp objects for all of them.
 */
export class MerkleTree {
  /** Every level: the leaves first, the tip alone last. */
  readonly levels: readonly (readonly Uint8Array[])[];

  constructor(leaves: readonly Uint8Array[]) {
    if (leaves.length === 0) throw new OtsValueError('MerkleTree: need at least one leaf');
    const levels = [leaves.slice()];
    let level = leaves;
    while (level.length > 1) {
      const next: Uint8Array[] = [];
      for (let i = 0; i + 1 < level.length; i += 2) {
        next.push(hashOfPair(SHA256, level[i] as Uint8Array, level[i + 1] as Uint8Array));
      }
      if (level.length % 2 === 1) next.push(level[level.length - 1] as Uint8Array);
      levels.push(next);
      level = next;
    }
    this.levels = levels;
  }

  get size(): number {
    return (this.levels[0] as Uint8Array[]).length;
  }

  get root(): Uint8Array {
    return (this.levels[this.levels.length - 1] as Uint8Array[])[0] as Uint8Array;
  }

  /** The ops that lead from leaf `index` to the root: (append|prepend sibling, sha256) per level. */
  path(index: number): Op[] {
    const ops: Op[] = [];
    this.walk('path', index, (appended, sibling) =>
      ops.push(appended ? new OpAppend(sibling) : new OpPrepend(sibling), SHA256),
    );
    return ops;
  }

  /**
   * Writes the ops of `path(index)` as they serialize, without making them: an aggregator writes a
   * path for each of thousands of digests a round.
   */
  writePath(index: number, w: Writer): void {
    this.walk('writePath', index, (appended, sibling) => {
      w.writeByte(appended ? OpAppend.TAG : OpPrepend.TAG);
      w.writeVarBytes(sibling);
      w.writeByte(OpSHA256.TAG);
    });
  }

  /** Calls `step` for each level from leaf `index` up that has a sibling: appended, or prepended. */
  private walk(caller: string, index: number, step: (appended: boolean, sibling: Uint8Array) => void): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.size) {
      throw new RangeError(`MerkleTree.${caller}: index ${index} out of range 0..${this.size - 1}`);
    }
    let i = index;
    for (let depth = 0; depth < this.levels.length - 1; depth++) {
      const level = this.levels[depth] as readonly Uint8Array[];
      const sibling = i ^ 1;
      if (sibling < level.length) step(i % 2 === 0, level[sibling] as Uint8Array);
      i >>= 1;
    }
  }
}
