/**
 * Stamping as `ots stamp -c CALENDAR FILE...` does it: each file's digest gets a random 16-byte nonce
 * appended and is hashed again, the results are joined in one merkle tree, its tip is submitted, and
 * the calendar's answer is merged at the tip. Every file's `.ots` then holds the whole path.
 * @module
 */
import {
  DetachedTimestampFile,
  makeMerkleTree,
  OpAppend,
  OpSHA256,
  OtsError,
  PendingAttestation,
  Timestamp,
} from '../ots/index.js';

export const NONCE_BYTES = 16;

/** The files' timestamps, not yet attested, and the tip to submit for all of them. */
export function nonceAndJoin(
  digests: readonly Uint8Array[],
  randomBytes: (n: number) => Uint8Array,
): { files: DetachedTimestampFile[]; tip: Timestamp } {
  const sha256 = new OpSHA256();
  const files = digests.map((d) => new DetachedTimestampFile(sha256, new Timestamp(d)));
  const leaves = files.map((f) =>
    f.timestamp.ops.add(new OpAppend(randomBytes(NONCE_BYTES))).ops.add(sha256),
  );
  return { files, tip: makeMerkleTree(leaves) };
}

/** Merges the calendar's answer to `tip.msg` into the tip; refuses one that is no pending timestamp. */
export function mergeAnswer(tip: Timestamp, answer: Uint8Array): void {
  let timestamp: Timestamp;
  try {
    timestamp = Timestamp.fromBytes(tip.msg, answer);
  } catch (e) {
    if (e instanceof OtsError) throw new OtsError(`the calendar's answer is not a timestamp: ${e.message}`);
    throw e;
  }
  if (!timestamp.shortestPathTo((a) => a instanceof PendingAttestation))
    throw new OtsError("the calendar's answer has no pending attestation");
  tip.merge(timestamp);
}
