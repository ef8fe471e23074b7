/**
 * The primitives of the OpenTimestamps serialization (python-opentimestamps `core/serialize.py`):
 * unsigned LEB128 varuints, length-prefixed varbytes and fixed-length bytes, read with limits that are
 * checked before anything is allocated.
 * @module
 */
import { equalBytes, toHex } from './bytes.js';
import { BadMagicError, DeserializationError, TrailingGarbageError, TruncationError } from './errors.js';

/**
 * Largest varuint accepted. The reference has no bound; ours is the largest integer a JS number holds
 * exactly, far above any length limit or block height.
 */
export const MAX_VARUINT = Number.MAX_SAFE_INTEGER;

/** Reads the format's primitives from a byte array, tracking the offset for error messages. */
export class Reader {
  readonly bytes: Uint8Array;
  offset = 0;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }

  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  readByte(): number {
    if (this.offset >= this.bytes.length) {
      throw new TruncationError('Tried to read 1 byte but the input ended', this.offset);
    }
    return this.bytes[this.offset++] as number;
  }

  /** Exactly `length` bytes, as a view into the input. */
  readBytes(length: number): Uint8Array {
    if (length > this.remaining) {
      throw new TruncationError(
        `Tried to read ${length} bytes but only ${this.remaining} remain`,
        this.offset,
      );
    }
    const out = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return out;
  }

  /** An unsigned LEB128 integer. Non-minimal encodings are accepted, as the reference accepts them. */
  readVarUint(): number {
    const start = this.offset;
    let value = 0;
    let scale = 1;
    for (;;) {
      const b = this.readByte();
      value += (b & 0x7f) * scale;
      if (value > MAX_VARUINT) throw new DeserializationError(`varuint exceeds ${MAX_VARUINT}`, start);
      if (!(b & 0x80)) return value;
      scale *= 128;
    }
  }

  /** A varuint length then that many bytes; the length is checked against the bounds before reading. */
  readVarBytes(maxLength: number, minLength = 0): Uint8Array {
    const at = this.offset;
    const length = this.readVarUint();
    if (length > maxLength) {
      throw new DeserializationError(`varbytes max length exceeded; ${length} > ${maxLength}`, at);
    }
    if (length < minLength) {
      throw new DeserializationError(`varbytes min length not met; ${length} < ${minLength}`, at);
    }
    return this.readBytes(length);
  }

  assertMagic(expected: Uint8Array): void {
    const at = this.offset;
    const actual = this.bytes.subarray(at, at + expected.length);
    this.offset += actual.length;
    if (!equalBytes(actual, expected)) {
      throw new BadMagicError(
        `Expected magic bytes 0x${toHex(expected)}, but got 0x${toHex(actual)} instead`,
        at,
      );
    }
  }

  assertEof(): void {
    if (this.remaining > 0) {
      throw new TrailingGarbageError(
        `Trailing garbage found after end of deserialized data (${this.remaining} bytes)`,
        this.offset,
      );
    }
  }
}

/** Bytes `writeVarUint(value)` writes. */
export function varUintLength(value: number): number {
  let length = 1;
  for (let v = value; v > 0x7f; v = Math.floor(v / 128)) length++;
  return length;
}

/**
 * Writes the format's primitives into a growing buffer. Given the exact final length, it allocates
 * once and hands that buffer out without a copy: a typed array's allocation, not the writing, is the
 * cost of serializing a small proof.
 */
export class Writer {
  private buffer: Uint8Array;
  private length = 0;

  /** `capacity`: the bytes to allocate up front (it grows past them as needed). */
  constructor(capacity = 256) {
    this.buffer = new Uint8Array(capacity);
  }

  /** The bytes written so far. */
  get byteLength(): number {
    return this.length;
  }

  private reserve(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    let size = Math.max(this.buffer.length * 2, 16);
    while (size < this.length + extra) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
  }

  writeByte(b: number): void {
    this.reserve(1);
    this.buffer[this.length++] = b;
  }

  writeBytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buffer.set(b, this.length);
    this.length += b.length;
  }

  writeVarUint(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`writeVarUint: expected a non-negative safe integer, got ${value}`);
    }
    let v = value;
    while (v > 0x7f) {
      this.writeByte((v % 128) | 0x80);
      v = Math.floor(v / 128);
    }
    this.writeByte(v);
  }

  writeVarBytes(b: Uint8Array): void {
    this.writeVarUint(b.length);
    this.writeBytes(b);
  }

  /**
   * The bytes written so far; the writer may go on. A full buffer is handed out as it is (so a second
   * call with nothing written between gives the same array): any later write of a byte or more must
   * grow it first, into a new array, so the one handed out never changes.
   */
  toBytes(): Uint8Array {
    if (this.length === this.buffer.length) return this.buffer;
    return this.buffer.slice(0, this.length);
  }
}
