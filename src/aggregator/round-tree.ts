/**
 * A round's merkle tree and the answers written from it. Each digest's leaf, sha256(digest ‖ nonce)
 * with a fresh 16-byte random nonce, is made as the digest arrives: made at the end of the round,
 * the leaves of thousands of digests delayed the commit, and with it every answer, by milliseconds.
 * @module
 */
import { randomFillSync } from 'node:crypto';
import { type MerkleTree, OpAppend, OpSHA256, sha256, Writer } from '../ots/index.js';

export const NONCE_BYTES = 16;

/** Nonces drawn from the system's random source this many at a time. */
const NONCES_PER_DRAW = 1024;

const SHA256 = new OpSHA256();

/** A digest's place in its round's tree: its nonce, and the leaf it makes. */
export interface Leaf {
  nonce: Uint8Array;
  hash: Uint8Array;
}

/** Makes each digest's leaf, with its nonce. */
export class Leaves {
  private nonces = new Uint8Array(0);
  private used = 0;
  /** One message buffer for every digest of a length (a round's digests are mostly of one). */
  private message = new Uint8Array(0);

  /** `digest` is read at once, not kept. */
  leafOf(digest: Uint8Array): Leaf {
    if (this.used === this.nonces.length) {
      this.nonces = randomFillSync(new Uint8Array(NONCES_PER_DRAW * NONCE_BYTES));
      this.used = 0;
    }
    // a view that keeps its draw's buffer (16 KiB) while its digest waits
    const nonce = this.nonces.subarray(this.used, this.used + NONCE_BYTES);
    this.used += NONCE_BYTES;
    if (this.message.length !== digest.length + NONCE_BYTES)
      this.message = new Uint8Array(digest.length + NONCE_BYTES);
    this.message.set(digest);
    this.message.set(nonce, digest.length);
    return { nonce, hash: sha256(this.message) };
  }
}

/**
 * The answers of leaves `first` to `end` (excluded) of `tree`: each a bare timestamp, from the digest
 * (append its nonce, sha256) along its path to the tip, then the tip's own serialization. Written into
 * one buffer, each answer a view of it: op objects and a growing buffer per digest were most of what a
 * round left to the garbage collector.
 */
export function writeAnswers(
  tree: MerkleTree,
  leaves: readonly Leaf[],
  tip: Uint8Array,
  first: number,
  end: number,
): Uint8Array[] {
  const ends: number[] = [];
  // the longest an answer can be: append the nonce (tag, length, 16 bytes), sha256, then at most a
  // step per level (tag, length, a 32-byte sibling, sha256), then the tip
  const longest = 3 + NONCE_BYTES + 35 * (tree.levels.length - 1) + tip.length;
  const w = new Writer((end - first) * longest);
  for (let i = first; i < end; i++) {
    new OpAppend((leaves[i] as Leaf).nonce).write(w);
    SHA256.write(w);
    tree.writePath(i, w);
    w.writeBytes(tip);
    ends.push(w.byteLength);
  }
  const bytes = w.toBytes();
  return ends.map((to, i) => bytes.subarray(i === 0 ? 0 : ends[i - 1], to));
}
