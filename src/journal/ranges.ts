/**
 * Lists of record numbers in journal payloads, as ascending disjoint ranges:
 * `varuint count, (varuint first, varuint length >= 1)*`.
 * @module
 */
import { DeserializationError, type Reader, type Writer } from '../ots/index.js';

export function writeRanges(w: Writer, numbers: readonly number[]): void {
  const ranges: [number, number][] = [];
  for (const n of numbers) {
    const last = ranges[ranges.length - 1];
    if (last && n === last[0] + last[1]) last[1]++;
    else if (last && n < last[0] + last[1])
      throw new RangeError('record numbers must be ascending and distinct');
    else ranges.push([n, 1]);
  }
  if (ranges.length === 0) throw new RangeError('no record numbers');
  w.writeVarUint(ranges.length);
  for (const [first, count] of ranges) {
    w.writeVarUint(first);
    w.writeVarUint(count);
  }
}

/**
 * What ranges from another server may name, checked before any range is expanded: only records
 * before `below` (the record holding them), and at most `most` numbers (the commitments that exist).
 */
export interface RangeBounds {
  below: number;
  most: number;
}

/**
 * Reads ranges; `context` names the record kind in errors. Bounded by the bytes left in the payload,
 * and by `bounds` when given.
 */
export function readRanges(r: Reader, context: string, bounds?: RangeBounds): number[] {
  const count = r.readVarUint();
  if (count === 0) throw new DeserializationError(`${context}: no record ranges`, r.offset);
  // every range takes at least two bytes, so a larger count is a lie, found before allocating
  if (count * 2 > r.remaining)
    throw new DeserializationError(`${context}: range count exceeds the payload`, r.offset);
  const numbers: number[] = [];
  let next = 0;
  for (let i = 0; i < count; i++) {
    const at = r.offset;
    const first = r.readVarUint();
    const length = r.readVarUint();
    if (length === 0 || first < next) {
      throw new DeserializationError(`${context}: ranges must be non-empty, ascending and disjoint`, at);
    }
    if (numbers.length + length > r.bytes.byteLength * 64) {
      throw new DeserializationError(`${context}: implausibly many records`, at);
    }
    if (bounds && first + length > bounds.below) {
      throw new DeserializationError(
        `${context}: a range reaches record ${first + length - 1}, not before it`,
        at,
      );
    }
    if (bounds && numbers.length + length > bounds.most) {
      throw new DeserializationError(
        `${context}: ranges cover more than the ${bounds.most} commitments that exist`,
        at,
      );
    }
    for (let n = first; n < first + length; n++) numbers.push(n);
    next = first + length;
  }
  return numbers;
}
