/**
 * A journal position as a line of JSON: how the start's marker keeps the acknowledged position, and
 * how the child that reads an index's pages passes it back (read-pages.ts).
 * @module
 */
import type { ReadCursor } from '../journal/journal.js';
import { fromHex, toHex } from '../ots/index.js';
import { cursorCheck } from './stored-cursor.js';

export function cursorToJson(c: ReadCursor): string {
  return JSON.stringify({
    ...c,
    previousChainHash: toHex(c.previousChainHash),
    check: toHex(cursorCheck(c)),
  });
}

/**
 * The position `text` holds, if it reads as one: whole numbers, a segment that starts at or before
 * the record, a 32-byte chain hash, and the check of these (stored-cursor.ts) where one is given (a
 * marker an earlier otsd wrote has none).
 */
export function cursorFromJson(text: string): ReadCursor | undefined {
  try {
    const c = JSON.parse(text) as Record<string, unknown>;
    const { number, segment, offset, previousChainHash, check } = c;
    if (
      !Number.isSafeInteger(number) ||
      !Number.isSafeInteger(segment) ||
      !Number.isSafeInteger(offset) ||
      (segment as number) > (number as number) ||
      typeof previousChainHash !== 'string'
    )
      return undefined;
    const hash = fromHex(previousChainHash);
    if (hash.byteLength !== 32) return undefined;
    const cursor = {
      number: number as number,
      segment: segment as number,
      offset: offset as number,
      previousChainHash: hash,
    };
    if (check !== undefined && check !== toHex(cursorCheck(cursor))) return undefined;
    return cursor;
  } catch {
    return undefined;
  }
}
