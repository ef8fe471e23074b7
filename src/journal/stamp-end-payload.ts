/**
 * The payload of a stamp-end record: the calendar's own stamping transaction is over, mined or
 * abandoned. Written after the proof of a mined version (so a crash between the two leaves the stamp
 * open, and the restarted stamper finds it mined and writes only this record), or when the
 * transaction's input was spent by another. It ends every version of the transaction: the stamp
 * records spending the same input as the one it names.
 *
 * ```
 * varuint  the number of a stamp record of the transaction: the version mined, or the latest
 * u8       outcome: 1 mined, 2 abandoned
 * ```
 * @module
 */
import { DeserializationError, Reader, Writer } from '../ots/index.js';

export const StampOutcome = { Mined: 1, Abandoned: 2 } as const;
export type StampOutcome = (typeof StampOutcome)[keyof typeof StampOutcome];

export interface StampEndPayload {
  stamp: number;
  outcome: StampOutcome;
}

export function encodeStampEndPayload(end: StampEndPayload): Uint8Array {
  const w = new Writer();
  w.writeVarUint(end.stamp);
  w.writeByte(end.outcome);
  return w.toBytes();
}

/**
 * Throws DeserializationError when the payload is malformed, or (for a record from another server)
 * names a record not before `below`, the stamp-end's own number.
 */
export function decodeStampEndPayload(payload: Uint8Array, below?: number): StampEndPayload {
  const r = new Reader(payload);
  const stamp = r.readVarUint();
  if (below !== undefined && stamp >= below)
    throw new DeserializationError(`stamp-end record: names record ${stamp}, not before it`, 0);
  const at = r.offset;
  const outcome = r.readByte();
  if (outcome !== StampOutcome.Mined && outcome !== StampOutcome.Abandoned)
    throw new DeserializationError(`stamp-end record: unknown outcome ${outcome}`, at);
  r.assertEof();
  return { stamp, outcome };
}
