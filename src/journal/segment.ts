/**
 * Journal segment files: a 64-byte header, then records. A segment is named by the number of its
 * first record, zero-padded to 20 digits, so names sort in record order.
 *
 * ```
 * magic     8 bytes  "OTSDJRNL"
 * version   u32 BE   1
 * reserved  u32      0
 * first     u64 BE   number of the segment's first record
 * previous  32 bytes chain hash of the record before it (zeros for record 0)
 * reserved  8 bytes  0
 * ```
 * @module
 */
import { equalBytes, toHex } from '../ots/index.js';
import { CHAIN_HASH_BYTES } from './record.js';

export const SEGMENT_MAGIC = new TextEncoder().encode('OTSDJRNL');
export const SEGMENT_VERSION = 1;
export const SEGMENT_HEADER_BYTES = 64;
export const SEGMENT_SUFFIX = '.seg';

export interface SegmentHeader {
  first: number;
  previousChainHash: Uint8Array;
}

export const segmentFileName = (first: number): string =>
  `${String(first).padStart(20, '0')}${SEGMENT_SUFFIX}`;

const SEGMENT_NAME_RE = /^(\d{20})\.seg$/;

/** The first record number a segment file name stands for, or undefined for other files. */
export function parseSegmentFileName(name: string): number | undefined {
  const match = SEGMENT_NAME_RE.exec(name);
  return match ? Number(match[1]) : undefined;
}

export function encodeSegmentHeader(header: SegmentHeader): Uint8Array {
  const bytes = new Uint8Array(SEGMENT_HEADER_BYTES);
  const view = new DataView(bytes.buffer);
  bytes.set(SEGMENT_MAGIC, 0);
  view.setUint32(8, SEGMENT_VERSION);
  view.setBigUint64(16, BigInt(header.first));
  bytes.set(header.previousChainHash, 24);
  return bytes;
}

/** Parses a header; returns a reason string when it is not a valid version-1 header. */
export function decodeSegmentHeader(bytes: Uint8Array): SegmentHeader | string {
  if (bytes.byteLength < SEGMENT_HEADER_BYTES)
    return `header is ${bytes.byteLength} bytes, expected ${SEGMENT_HEADER_BYTES}`;
  if (!equalBytes(bytes.subarray(0, 8), SEGMENT_MAGIC)) return `bad magic ${toHex(bytes.subarray(0, 8))}`;
  const view = new DataView(bytes.buffer, bytes.byteOffset, SEGMENT_HEADER_BYTES);
  const version = view.getUint32(8);
  if (version !== SEGMENT_VERSION) return `unsupported segment version ${version}`;
  const first = view.getBigUint64(16);
  if (first > BigInt(Number.MAX_SAFE_INTEGER)) return `first record number ${first} out of range`;
  return { first: Number(first), previousChainHash: bytes.slice(24, 24 + CHAIN_HASH_BYTES) };
}
