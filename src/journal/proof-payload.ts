/**
 * The payload of a proof record: which commitments it covers and the timestamp of their tree's tip.
 *
 * ```
 * varuint  number of ranges (>= 1)
 * ranges   (varuint first record, varuint count >= 1)*, ascending, not overlapping
 * tip      32 bytes: root of makeMerkleTree over sha256(commitment) of each covered commitment, in order
 * tree     the timestamp of the tip (a bare OpenTimestamps tree), to the end of the payload
 * ```
 * @module
 */
import { DeserializationError, Reader, Timestamp, Writer } from '../ots/index.js';

export const TIP_BYTES = 32;

export interface ProofPayload {
  /** Record numbers of the covered commitment records, ascending: the merkle tree's leaf order. */
  commitments: number[];
  tip: Timestamp;
}

export function encodeProofPayload(proof: ProofPayload): Uint8Array {
  const ranges = toRanges(proof.commitments);
  const w = new Writer();
  w.writeVarUint(ranges.length);
  for (const [first, count] of ranges) {
    w.writeVarUint(first);
    w.writeVarUint(count);
  }
  if (proof.tip.msg.byteLength !== TIP_BYTES)
    throw new RangeError(`proof record: tip must be ${TIP_BYTES} bytes`);
  w.writeBytes(proof.tip.msg);
  proof.tip.write(w);
  return w.toBytes();
}

/** Throws DeserializationError (with the offset in the payload) when the payload is malformed. */
export function decodeProofPayload(payload: Uint8Array): ProofPayload {
  const r = new Reader(payload);
  const rangeCount = r.readVarUint();
  if (rangeCount === 0) throw new DeserializationError('proof record: no commitment ranges', 0);
  // every range takes at least two bytes, so a count beyond that is a lie, found before allocating
  if (rangeCount * 2 > r.remaining)
    throw new DeserializationError('proof record: range count exceeds the payload', 0);
  const commitments: number[] = [];
  let next = 0;
  for (let i = 0; i < rangeCount; i++) {
    const at = r.offset;
    const first = r.readVarUint();
    const count = r.readVarUint();
    if (count === 0 || first < next) {
      throw new DeserializationError('proof record: ranges must be non-empty, ascending and disjoint', at);
    }
    if (commitments.length + count > payload.byteLength * 64) {
      throw new DeserializationError('proof record: implausibly many commitments', at);
    }
    for (let n = first; n < first + count; n++) commitments.push(n);
    next = first + count;
  }
  const tip = r.readBytes(TIP_BYTES);
  return { commitments, tip: Timestamp.fromBytes(tip, payload.subarray(r.offset)) };
}

function toRanges(numbers: readonly number[]): [number, number][] {
  const ranges: [number, number][] = [];
  for (const n of numbers) {
    const last = ranges[ranges.length - 1];
    if (last && n === last[0] + last[1]) last[1]++;
    else if (last && n < last[0] + last[1])
      throw new RangeError('proof record: commitments must be ascending and distinct');
    else ranges.push([n, 1]);
  }
  if (ranges.length === 0) throw new RangeError('proof record: no commitments');
  return ranges;
}
