/**
 * Lists of record numbers in journal payloads, as ascending disjoint ranges:
 * `varuint count, (varuint first, varuint length >= 1)*`.
 * @module
 */
import { DeserializationError, type Reader, type Writer } from '../ots/index.js';

/**
 * The most record numbers one payload's ranges may name: what one proof or stamp record may cover.
 * A calendar commits one record per aggregation round (1 s by default) and stamps everything pending
 * in one transaction, so this is three days of rounds without a confirmed transaction. The bound
 * keeps what one record costs a reader (the index holds its whole merkle tree while applying it) to
 * a few hundred MB; a calendar never writes more (writeRanges refuses), and a mirror refuses a record
 * from another server that names more before expanding anything.
 */
export const MAX_COVERED_RECORDS = 2 ** 18;

/** `count` consecutive record numbers from `first`. */
export interface RecordRange {
  first: number;
  count: number;
}

export function writeRanges(w: Writer, numbers: readonly number[]): void {
  if (numbers.length > MAX_COVERED_RECORDS) {
    throw new RangeError(
      `${numbers.length} record numbers: one record may name at most ${MAX_COVERED_RECORDS}`,
    );
  }
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
 * Reads ranges without expanding them; `context` names the record kind in errors. Bounded by the
 * bytes left in the payload (every range takes at least two), by MAX_COVERED_RECORDS, and by `bounds`
 * when given.
 */
export function readRangeList(r: Reader, context: string, bounds?: RangeBounds): RecordRange[] {
  const count = r.readVarUint();
  if (count === 0) throw new DeserializationError(`${context}: no record ranges`, r.offset);
  // a larger count is a lie, found before allocating
  if (count * 2 > r.remaining)
    throw new DeserializationError(`${context}: range count exceeds the payload`, r.offset);
  const ranges: RecordRange[] = [];
  let next = 0;
  let total = 0;
  for (let i = 0; i < count; i++) {
    const at = r.offset;
    const first = r.readVarUint();
    const length = r.readVarUint();
    if (length === 0 || first < next) {
      throw new DeserializationError(`${context}: ranges must be non-empty, ascending and disjoint`, at);
    }
    total += length;
    if (bounds && first + length > bounds.below) {
      throw new DeserializationError(
        `${context}: a range reaches record ${first + length - 1}, not before it`,
        at,
      );
    }
    if (bounds && total > bounds.most) {
      throw new DeserializationError(
        `${context}: ranges cover more than the ${bounds.most} commitments that exist`,
        at,
      );
    }
    // the bound on what expanding them costs, whoever wrote them: one range of a few bytes may name
    // all the records a real proof covers (a long wait for a confirmation), so the payload's size is
    // no bound
    if (total > MAX_COVERED_RECORDS) {
      throw new DeserializationError(
        `${context}: ranges cover more than the ${MAX_COVERED_RECORDS} commitments one record may cover`,
        at,
      );
    }
    ranges.push({ first, count: length });
    next = first + length;
  }
  return ranges;
}

/** The numbers of `ranges`, one at a time. */
export function* rangeNumbers(ranges: readonly RecordRange[]): Generator<number> {
  for (const { first, count } of ranges) {
    for (let n = first; n < first + count; n++) yield n;
  }
}

/** readRangeList, expanded: for ranges already bounded (this calendar's own, or checked by `bounds`). */
export function readRanges(r: Reader, context: string, bounds?: RangeBounds): number[] {
  return [...rangeNumbers(readRangeList(r, context, bounds))];
}
