/**
 * The payload of a donation record: a transaction someone else paid for that commits to a tip this
 * calendar offered (external stamping), taken by `POST /external/tx` once it passed every rule and
 * before it is relayed and answered, so that a restarted calendar follows it again. The proof, when it
 * is mined, is an ordinary proof record.
 *
 * ```
 * ranges   the commitment records of its tip (see ranges.ts), ascending: the merkle tree's leaf order
 * varuint  the height of this calendar's chain when it was taken (the own transaction's wait counts from it)
 * varuint  its fee in satoshis
 * rest     the raw transaction, witness included: its OP_RETURN holds the tip
 * ```
 * @module
 */
import { Reader, Writer } from '../ots/index.js';
import { type RangeBounds, readRanges, writeRanges } from './ranges.js';

export interface DonationPayload {
  commitments: number[];
  height: number;
  fee: number;
  rawTx: Uint8Array;
}

export function encodeDonationPayload(donation: DonationPayload): Uint8Array {
  const w = new Writer();
  writeRanges(w, donation.commitments);
  w.writeVarUint(donation.height);
  w.writeVarUint(donation.fee);
  w.writeBytes(donation.rawTx);
  return w.toBytes();
}

/** Throws DeserializationError when the payload is malformed, or its ranges pass `bounds`. */
export function decodeDonationPayload(payload: Uint8Array, bounds?: RangeBounds): DonationPayload {
  const r = new Reader(payload);
  const commitments = readRanges(r, 'donation record', bounds);
  const height = r.readVarUint();
  const fee = r.readVarUint();
  return { commitments, height, fee, rawTx: payload.slice(r.offset) };
}
