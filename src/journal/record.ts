/**
 * Journal records: framing, kinds and the chain hash. See docs/journal-format.md.
 *
 * ```
 * length  u32 BE   bytes of kind + payload
 * kind    u8
 * payload length-1 bytes
 * chain   32 bytes  H[n] = sha256(H[n-1] || length || kind || payload), H[-1] = 32 zero bytes
 * ```
 * @module
 */
import { sha256 } from '../ots/index.js';

export const RecordKind = {
  /** A round tip (or any commitment) accepted by this calendar. */
  Commitment: 0x01,
  /** A proof for a list of commitments: their merkle tree, and the timestamp of its tip. */
  Proof: 0x02,
  /** A stamping transaction version, recorded before it is broadcast. */
  Stamp: 0x03,
  /** Commitments whose tip a master calendar took, with its checked answer (collaborative stamping). */
  Delegation: 0x04,
  /** The end of a stamping transaction: mined (after its proof) or abandoned. */
  StampEnd: 0x05,
  /** A tip offered to donors before a transaction of the calendar's own commits to it (external stamping). */
  Offer: 0x06,
  /** A transaction someone else paid for, committing to an offered tip, taken by POST /external/tx. */
  Donation: 0x07,
} as const;

export const LENGTH_BYTES = 4;
export const CHAIN_HASH_BYTES = 32;
/** Framing around a payload: length, kind and chain hash. */
export const RECORD_OVERHEAD = LENGTH_BYTES + 1 + CHAIN_HASH_BYTES;
/** Largest kind + payload a record may hold (a kind this version does not know included). */
export const MAX_RECORD_LENGTH = 16 * 1024 * 1024;

/**
 * Largest payload of each known kind, as tight as the kind allows, so that a record from another
 * server cannot make a reader allocate much. A commitment is at most 64 bytes. A proof or a stamp is
 * its commitment ranges (a few bytes per run of consecutive commitment records: runs are broken only by
 * the other records between them) plus a tree, a transaction or a master's answer of a few kB: 256 KiB
 * holds tens of thousands of runs; so do an offer and a donation (a transaction of at most 100 kB). A stamp end is a record number and a
 * byte.
 */
export const MAX_PAYLOAD_BYTES: Readonly<Record<number, number>> = {
  [RecordKind.Commitment]: 64,
  [RecordKind.Proof]: 256 * 1024,
  [RecordKind.Stamp]: 256 * 1024,
  [RecordKind.Delegation]: 256 * 1024,
  [RecordKind.StampEnd]: 16,
  [RecordKind.Offer]: 256 * 1024,
  [RecordKind.Donation]: 256 * 1024,
};

/** The largest payload a record of `kind` may have. */
export function maxPayloadBytes(kind: number): number {
  return MAX_PAYLOAD_BYTES[kind] ?? MAX_RECORD_LENGTH - 1;
}

export const GENESIS_CHAIN_HASH = new Uint8Array(CHAIN_HASH_BYTES);

export interface JournalRecord {
  /** Record number, from 0. */
  number: number;
  kind: number;
  payload: Uint8Array;
  /** H[number]. */
  chainHash: Uint8Array;
}

/** Where a record starts: its segment (by first record number) and byte offset in that segment. */
export interface RecordPosition {
  number: number;
  segment: number;
  offset: number;
}

/** Throws unless a payload of `bytes` bytes is within the limit of `kind`. */
export function checkPayloadBytes(kind: number, bytes: number): void {
  if (bytes > maxPayloadBytes(kind)) {
    throw new RangeError(
      `journal record: a payload of ${bytes} bytes exceeds the ${maxPayloadBytes(kind)}-byte limit of kind ${kind}`,
    );
  }
}

/** The length the framing at `at` in `bytes` gives (the kind byte and the payload), unchecked. */
export function framedLength(bytes: Uint8Array, at: number): number {
  return (
    (((bytes[at] as number) << 24) |
      ((bytes[at + 1] as number) << 16) |
      ((bytes[at + 2] as number) << 8) |
      (bytes[at + 3] as number)) >>>
    0
  );
}

/** The framed record bytes without the chain hash: what the chain hash covers after H[n-1]. */
export function frameRecord(kind: number, payload: Uint8Array): Uint8Array {
  const length = 1 + payload.byteLength;
  checkPayloadBytes(kind, payload.byteLength);
  const framed = new Uint8Array(LENGTH_BYTES + length);
  new DataView(framed.buffer).setUint32(0, length);
  framed[LENGTH_BYTES] = kind;
  framed.set(payload, LENGTH_BYTES + 1);
  return framed;
}

/** Where chainHash joins its input when it fits: most records are small, and hashed by the thousand. */
const chainInput = new Uint8Array(4096);

export function chainHash(previous: Uint8Array, framed: Uint8Array): Uint8Array {
  const length = previous.byteLength + framed.byteLength;
  const input = length <= chainInput.byteLength ? chainInput.subarray(0, length) : new Uint8Array(length);
  input.set(previous);
  input.set(framed, previous.byteLength);
  return sha256(input);
}
