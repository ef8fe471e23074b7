/**
 * The payload of a stamp record: one version of a stamping transaction, written (and fsynced) before
 * it is broadcast, so that after a crash the stamper knows every version it may have sent.
 *
 * ```
 * ranges  the commitment records whose merkle tip the transaction's OP_RETURN holds (see ranges.ts)
 * varuint fee in satoshis
 * rest    the raw transaction, witness included
 * ```
 * @module
 */
import { Reader, Writer } from '../ots/index.js';
import { type RangeBounds, type RecordRange, rangeNumbers, readRangeList, writeRanges } from './ranges.js';

export interface StampPayload {
  commitments: number[];
  fee: number;
  rawTx: Uint8Array;
}

/** A stamp payload with its commitments left as ranges (see rangeNumbers), not expanded. */
export interface StampRanges extends Omit<StampPayload, 'commitments'> {
  commitments: RecordRange[];
}

export function encodeStampPayload(stamp: StampPayload): Uint8Array {
  const w = new Writer();
  writeRanges(w, stamp.commitments);
  w.writeVarUint(stamp.fee);
  w.writeBytes(stamp.rawTx);
  return w.toBytes();
}

/** `bounds`: see decodeProofRanges. */
export function decodeStampRanges(payload: Uint8Array, bounds?: RangeBounds): StampRanges {
  const r = new Reader(payload);
  const commitments = readRangeList(r, 'stamp record', bounds);
  const fee = r.readVarUint();
  return { commitments, fee, rawTx: payload.slice(r.offset) };
}

/** decodeStampRanges with the commitments expanded, for records this node holds. */
export function decodeStampPayload(payload: Uint8Array): StampPayload {
  const stamp = decodeStampRanges(payload);
  return { ...stamp, commitments: [...rangeNumbers(stamp.commitments)] };
}
