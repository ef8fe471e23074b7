/**
 * Byte helpers shared by the format code, on plain `Uint8Array`s: no Buffer, so they run in browsers.
 *
 * Throughout otsd/ots, lengths are read as `.length`, never `.byteLength` (equal on a Uint8Array):
 * V8 (Node 20) answers `byteLength` through a builtin call, about five times slower, and a loop
 * bounded by it reads it again at every step.
 * @module
 */
import { OtsValueError } from './errors.js';

const HEX_OF_BYTE = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Lower-case hex of `b`. */
export function toHex(b: Uint8Array): string {
  let hex = '';
  for (let i = 0; i < b.length; i++) hex += HEX_OF_BYTE[b[i] as number];
  return hex;
}

const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;

/** Bytes of an even-length hex string (either case); throws OtsValueError on anything else. */
export function fromHex(hex: string): Uint8Array {
  if (!HEX_RE.test(hex))
    throw new OtsValueError(`fromHex: not an even-length hex string (length ${hex.length})`);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** True when `a` and `b` hold the same bytes. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Lexicographic order of byte strings, a shorter prefix first (Python's `bytes` order). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return (a[i] as number) < (b[i] as number) ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/** One new array holding all parts in order. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The bytes of `b` in reverse order, as a new array (Bitcoin's display order of hashes). */
export function reverseBytes(b: Uint8Array): Uint8Array {
  return Uint8Array.from(b).reverse();
}

/**
 * A plain copy of `bytes` (of a Buffer too, whose `slice` is a view), for a parse that must not keep
 * its caller's array; `what` names the argument in the TypeError for anything but a Uint8Array
 * (`new Uint8Array` alone would take an Array, an ArrayBuffer, even a number).
 */
export function copyOfBytes(bytes: Uint8Array, what: string): Uint8Array {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`${what}: expected a Uint8Array`);
  return new Uint8Array(bytes);
}
