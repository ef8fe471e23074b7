/**
 * The payload of a delegation record: commitments whose merkle tip this calendar submitted to a master
 * calendar, and the master's answer, written once the answer is checked and before the calendar relies
 * on it. The proof, when it comes, is an ordinary proof record.
 *
 * ```
 * ranges    the delegated commitment records (see ranges.ts), ascending: the merkle tree's leaf order
 * tip       32 bytes: root of makeMerkleTree over sha256(commitment) of each, the digest submitted
 * varuint   the height of this calendar's chain when it was submitted (the deadline counts from it)
 * varbytes  the master's URL, UTF-8
 * tree      the master's answer: the timestamp of the tip, ending in its PendingAttestation, to the end
 * ```
 * @module
 */
import { DeserializationError, Reader, Timestamp, Writer } from '../ots/index.js';
import { TIP_BYTES } from './proof-payload.js';
import { type RangeBounds, readRanges, writeRanges } from './ranges.js';

/** Longest master URL a delegation record holds. */
export const MAX_MASTER_URL_BYTES = 1000;

export interface DelegationPayload {
  /** Record numbers of the delegated commitment records, ascending: the merkle tree's leaf order. */
  commitments: number[];
  /** The height of the calendar's chain at submission. */
  height: number;
  master: string;
  /** The master's answer: a timestamp of the tip (its `msg`), ending in one PendingAttestation. */
  answer: Timestamp;
}

export function encodeDelegationPayload(delegation: DelegationPayload): Uint8Array {
  if (delegation.answer.msg.byteLength !== TIP_BYTES)
    throw new RangeError(`delegation record: tip must be ${TIP_BYTES} bytes`);
  const url = new TextEncoder().encode(delegation.master);
  if (url.byteLength > MAX_MASTER_URL_BYTES)
    throw new RangeError(`delegation record: a master URL is at most ${MAX_MASTER_URL_BYTES} bytes`);
  const w = new Writer();
  writeRanges(w, delegation.commitments);
  w.writeBytes(delegation.answer.msg);
  w.writeVarUint(delegation.height);
  w.writeVarBytes(url);
  delegation.answer.write(w);
  return w.toBytes();
}

/** Throws DeserializationError when the payload is malformed, or its ranges pass `bounds`. */
export function decodeDelegationPayload(payload: Uint8Array, bounds?: RangeBounds): DelegationPayload {
  const r = new Reader(payload);
  const commitments = readRanges(r, 'delegation record', bounds);
  const tip = r.readBytes(TIP_BYTES);
  const height = r.readVarUint();
  const at = r.offset;
  let master: string;
  try {
    master = new TextDecoder('utf-8', { fatal: true }).decode(r.readVarBytes(MAX_MASTER_URL_BYTES, 1));
  } catch (e) {
    if (e instanceof DeserializationError) throw e;
    throw new DeserializationError('delegation record: the master URL is not UTF-8', at);
  }
  return { commitments, height, master, answer: Timestamp.fromBytes(tip, payload.subarray(r.offset)) };
}
