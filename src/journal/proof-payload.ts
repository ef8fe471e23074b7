/**
 * The payload of a proof record: which commitments it covers and the timestamp of their tree's tip.
 *
 * ```
 * ranges   the covered commitment records (see ranges.ts), ascending: the merkle tree's leaf order
 * tip      32 bytes: root of makeMerkleTree over sha256(commitment) of each covered commitment, in order
 * tree     the timestamp of the tip (a bare OpenTimestamps tree), to the end of the payload
 * ```
 * @module
 */
import { Reader, Timestamp, Writer } from '../ots/index.js';
import { type RangeBounds, type RecordRange, rangeNumbers, readRangeList, writeRanges } from './ranges.js';

export const TIP_BYTES = 32;

export interface ProofPayload {
  /** Record numbers of the covered commitment records, ascending: the merkle tree's leaf order. */
  commitments: number[];
  tip: Timestamp;
}

/** A proof payload with its commitments left as ranges (see rangeNumbers), not expanded. */
export interface ProofRanges {
  commitments: RecordRange[];
  tip: Timestamp;
}

export function encodeProofPayload(proof: ProofPayload): Uint8Array {
  if (proof.tip.msg.byteLength !== TIP_BYTES)
    throw new RangeError(`proof record: tip must be ${TIP_BYTES} bytes`);
  const w = new Writer();
  writeRanges(w, proof.commitments);
  w.writeBytes(proof.tip.msg);
  proof.tip.write(w);
  return w.toBytes();
}

/**
 * Throws DeserializationError (with the offset in the payload) when the payload is malformed, or its
 * ranges pass `bounds` (for records from another server, checked before anything is expanded).
 */
export function decodeProofRanges(payload: Uint8Array, bounds?: RangeBounds): ProofRanges {
  const r = new Reader(payload);
  const commitments = readRangeList(r, 'proof record', bounds);
  const tip = r.readBytes(TIP_BYTES);
  return { commitments, tip: Timestamp.fromBytes(tip, payload.subarray(r.offset)) };
}

/** decodeProofRanges with the commitments expanded, for records this node holds. */
export function decodeProofPayload(payload: Uint8Array): ProofPayload {
  const { commitments, tip } = decodeProofRanges(payload);
  return { commitments: [...rangeNumbers(commitments)], tip };
}
