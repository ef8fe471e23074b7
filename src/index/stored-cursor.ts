/**
 * A journal position as the index's meta database stores it (the applied position, the acknowledged
 * floor): its number, segment and offset, the chain hash after it, and a check over those. The
 * position is what the journal is held to at start (records it names that the journal lacks refuse
 * the start), so a flipped bit in it must read as the index's damage, never as the journal's loss:
 * the start's checks read LMDB's pages, not what a value says.
 * @module
 */
import type { ReadCursor } from '../journal/journal.js';
import { sha256 } from '../ots/index.js';
import { readU64, u64 } from './keys.js';

/** number, segment, offset (8 bytes each), the chain hash after the position. */
const FIELDS_BYTES = 56;
/** The first bytes of sha256 over the fields. */
const CHECK_BYTES = 8;

/** A stored position that does not read as one: the index's damage. */
export class StoredCursorDamagedError extends Error {
  override name = 'StoredCursorDamagedError';
}

export function encodeCursor(cursor: ReadCursor): Buffer {
  const fields = fieldsOf(cursor);
  return Buffer.concat([fields, checkOf(fields)]);
}

/** The check stored with `cursor`: the start's marker keeps it too (cursor-json.ts). */
export function cursorCheck(cursor: ReadCursor): Buffer {
  return checkOf(fieldsOf(cursor));
}

function fieldsOf(cursor: ReadCursor): Buffer {
  return Buffer.concat([
    u64(cursor.number),
    u64(cursor.segment),
    u64(cursor.offset),
    cursor.previousChainHash,
  ]);
}

/**
 * The position `value` holds; undefined where none is stored. `what` names it in the error a damaged
 * one throws. A value of the fields alone, unchecked, is one an otsd before the check wrote (the
 * start's write adds the check: CalendarIndex.writeProbe).
 */
export function decodeCursor(value: Buffer | undefined, what: string): ReadCursor | undefined {
  if (value === undefined) return undefined;
  const checked = value.byteLength === FIELDS_BYTES + CHECK_BYTES;
  if (value.byteLength !== FIELDS_BYTES && !checked)
    throw new StoredCursorDamagedError(`index: its ${what} position is damaged (${value.byteLength} bytes)`);
  const fields = value.subarray(0, FIELDS_BYTES);
  if (checked && !checkOf(fields).equals(value.subarray(FIELDS_BYTES)))
    throw new StoredCursorDamagedError(`index: its ${what} position is damaged (its check does not match)`);
  const cursor = {
    number: readU64(fields, 0),
    segment: readU64(fields, 8),
    offset: readU64(fields, 16),
    previousChainHash: new Uint8Array(fields.subarray(24, FIELDS_BYTES)),
  };
  if (!Number.isSafeInteger(cursor.number) || cursor.segment > cursor.number)
    throw new StoredCursorDamagedError(
      `index: its ${what} position is damaged (record ${cursor.number}, segment ${cursor.segment})`,
    );
  return cursor;
}

function checkOf(fields: Uint8Array): Buffer {
  return Buffer.from(sha256(fields).subarray(0, CHECK_BYTES));
}
