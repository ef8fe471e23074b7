/**
 * Byte helpers shared by the format code. Values are plain `Uint8Array`s; node's Buffer is used only
 * where it is faster, never exposed as a requirement.
 * @module
 */
import { OtsValueError } from './errors.js';

const asBuffer = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/** Lower-case hex of `b`. */
export function toHex(b: Uint8Array): string {
  return asBuffer(b).toString('hex');
}

const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;

/** Bytes of an even-length hex string (either case); throws OtsValueError on anything else. */
export function fromHex(hex: string): Uint8Array {
  if (!HEX_RE.test(hex))
    throw new OtsValueError(`fromHex: not an even-length hex string (length ${hex.length})`);
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

/** True when `a` and `b` hold the same bytes. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && asBuffer(a).equals(b);
}

/** Lexicographic order of byte strings, a shorter prefix first (Python's `bytes` order). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return asBuffer(a).compare(b);
}

/** One new array holding all parts in order. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.byteLength;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** The bytes of `b` in reverse order, as a new array (Bitcoin's display order of hashes). */
export function reverseBytes(b: Uint8Array): Uint8Array {
  return Uint8Array.from(b).reverse();
}
