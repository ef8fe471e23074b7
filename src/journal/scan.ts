/**
 * Walks the records of one segment's bytes, checking each chain hash. Pure: callers read the file.
 * @module
 */
import { equalBytes, sha256, toHex } from '../ots/index.js';
import {
  CHAIN_HASH_BYTES,
  chainHash,
  type JournalRecord,
  LENGTH_BYTES,
  MAX_RECORD_LENGTH,
} from './record.js';

export interface ScannedRecord extends JournalRecord {
  /** Byte offset of the record in its segment. */
  offset: number;
  /** Byte length of the whole record, framing and chain hash included. */
  size: number;
}

/** How a scan ended: at the end of the bytes, at an incomplete record, or at a record that is wrong. */
export type ScanEnd =
  | { kind: 'end'; offset: number }
  | { kind: 'incomplete'; offset: number; number: number; reason: string }
  | { kind: 'mismatch'; offset: number; number: number; size: number; reason: string };

export interface ScanStart {
  /** Offset of the first record to read in `bytes` (bytes[0] is segment offset `base`). */
  offset: number;
  number: number;
  previousChainHash: Uint8Array;
}

/**
 * Yields the records of `bytes` from `start`, and returns how the scan ended. `base` is the segment
 * offset of bytes[0], so reported offsets are segment offsets; `segment` the segment's first record
 * number, each record's (StoredRecord's; NaN for bytes of no segment file, a mirror's chunk).
 */
export function* scanRecords(
  bytes: Uint8Array,
  start: ScanStart,
  base = 0,
  segment = Number.NaN,
): Generator<ScannedRecord, ScanEnd> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = start.offset - base;
  let number = start.number;
  while (at < bytes.byteLength) {
    const offset = base + at;
    if (bytes.byteLength - at < LENGTH_BYTES) {
      return { kind: 'incomplete', offset, number, reason: 'length field cut short' };
    }
    const length = view.getUint32(at);
    if (length === 0 || length > MAX_RECORD_LENGTH) {
      return {
        kind: 'mismatch',
        offset,
        number,
        size: bytes.byteLength - at,
        reason: `invalid record length ${length}`,
      };
    }
    const size = LENGTH_BYTES + length + CHAIN_HASH_BYTES;
    if (bytes.byteLength - at < size) {
      return {
        kind: 'incomplete',
        offset,
        number,
        reason: `record of ${size} bytes cut short at ${bytes.byteLength - at}`,
      };
    }
    const record = recordAt(bytes, at, size, number, offset, segment);
    // past the first record, the chain hash before a record is the 32 bytes just before it (the last
    // record's): hashed where they lie, not copied next to the record
    const expected =
      number === start.number
        ? chainHash(start.previousChainHash, bytes.subarray(at, at + LENGTH_BYTES + length))
        : sha256(bytes.subarray(at - CHAIN_HASH_BYTES, at + LENGTH_BYTES + length));
    if (!equalBytes(record.chainHash, expected)) {
      return {
        kind: 'mismatch',
        offset,
        number,
        size,
        reason: `chain hash ${toHex(record.chainHash)} does not match the computed ${toHex(expected)}`,
      };
    }
    yield record;
    number++;
    at += size;
  }
  return { kind: 'end', offset: base + at };
}

/**
 * The record of `size` bytes at `at` in `bytes`, its fields read from them when asked (nothing
 * checked: a scan checks them, here or in another thread). `offset` and `segment` as scanRecords's.
 */
export function recordAt(
  bytes: Uint8Array,
  at: number,
  size: number,
  number: number,
  offset: number,
  segment = Number.NaN,
): ScannedRecord & { segment: number } {
  return new RecordInBytes(bytes, at, size, number, offset, segment);
}

/**
 * The offsets of `records` (consecutive, as a scan yields them), then the end of the last (0 for
 * none): what another thread is sent, with their bytes, to make them again (recordsAt).
 */
export function recordOffsets(records: readonly ScannedRecord[]): Float64Array {
  const offsets = new Float64Array(records.length + 1);
  records.forEach((r, i) => {
    offsets[i] = r.offset;
  });
  const last = records.at(-1);
  offsets[records.length] = last ? last.offset + last.size : 0;
  return offsets;
}

/**
 * The records at `offsets` (recordOffsets) in `bytes`, whose first byte is at offset `base`,
 * numbered from `first`: views of the bytes, nothing checked. `segment` as recordAt's.
 */
export function recordsAt(
  bytes: Uint8Array,
  offsets: Float64Array,
  first: number,
  base: number,
  segment = Number.NaN,
): (ScannedRecord & { segment: number })[] {
  const records: (ScannedRecord & { segment: number })[] = [];
  for (let i = 0; i + 1 < offsets.length; i++) {
    const offset = offsets[i] as number;
    records.push(
      recordAt(bytes, offset - base, (offsets[i + 1] as number) - offset, first + i, offset, segment),
    );
  }
  return records;
}

/**
 * A record as it lies in the bytes read: one object, where its fields as views would be three. A
 * batch of records outlives several of V8's young-generation collections, each of which copies every
 * object still alive.
 */
class RecordInBytes implements ScannedRecord {
  constructor(
    private readonly bytes: Uint8Array,
    private readonly at: number,
    readonly size: number,
    readonly number: number,
    readonly offset: number,
    readonly segment: number,
  ) {}

  get kind(): number {
    return this.bytes[this.at + LENGTH_BYTES] as number;
  }

  get payload(): Uint8Array {
    return this.bytes.subarray(this.at + LENGTH_BYTES + 1, this.at + this.size - CHAIN_HASH_BYTES);
  }

  get chainHash(): Uint8Array {
    return this.bytes.subarray(this.at + this.size - CHAIN_HASH_BYTES, this.at + this.size);
  }

  /** Its fields, not the bytes it lies in (a whole segment's: a record logged would log them all). */
  toJSON(): object {
    const { number, kind, offset, size, segment } = this;
    return { number, kind, offset, size, segment };
  }
}
