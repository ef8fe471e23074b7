/**
 * The payload of an offer record: a tip this calendar offers to donors (external stamping) before any
 * transaction of its own commits to it, written before the tip is first served, so that a donation
 * mined while the calendar was down, or after a restart, still proves its commitments. (The tip of an
 * own transaction's version needs no offer record: its stamp record holds its commitments.)
 *
 * ```
 * ranges   the commitment records (see ranges.ts), ascending: the merkle tree's leaf order
 * tip      32 bytes: root of makeMerkleTree over sha256(commitment) of each: what a donation commits to
 * varuint  the height of this calendar's chain when it was offered
 * ```
 * @module
 */
import { Reader, Writer } from '../ots/index.js';
import { TIP_BYTES } from './proof-payload.js';
import { type RangeBounds, readRanges, writeRanges } from './ranges.js';

export interface OfferPayload {
  /** Record numbers of the commitment records, ascending: the merkle tree's leaf order. */
  commitments: number[];
  tip: Uint8Array;
  height: number;
}

export function encodeOfferPayload(offer: OfferPayload): Uint8Array {
  if (offer.tip.byteLength !== TIP_BYTES)
    throw new RangeError(`offer record: tip must be ${TIP_BYTES} bytes`);
  const w = new Writer();
  writeRanges(w, offer.commitments);
  w.writeBytes(offer.tip);
  w.writeVarUint(offer.height);
  return w.toBytes();
}

/** Throws DeserializationError when the payload is malformed, or its ranges pass `bounds`. */
export function decodeOfferPayload(payload: Uint8Array, bounds?: RangeBounds): OfferPayload {
  const r = new Reader(payload);
  const commitments = readRanges(r, 'offer record', bounds);
  const tip = r.readBytes(TIP_BYTES);
  const height = r.readVarUint();
  r.assertEof();
  return { commitments, tip, height };
}
