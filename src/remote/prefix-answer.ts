/**
 * The answer to a prefix query (`GET /timestamps?prefix=<hex>`): every commitment under the prefix
 * with its current timestamp. See docs/prefix-queries.md.
 *
 * ```
 * version  u8        1
 * count    varuint
 * entry*   varbytes commitment (1..64), u8 flags (bit 0: complete), varbytes timestamp
 * ```
 * Entries are sorted by commitment bytes, without duplicates. A timestamp is a bare tree whose root
 * message is the commitment: the Bitcoin proof when complete, else the PendingAttestation.
 * @module
 */
import {
  compareBytes,
  DeserializationError,
  Reader,
  Timestamp,
  type TimestampReadOptions,
  Writer,
} from '../ots/index.js';

export const PREFIX_ANSWER_VERSION = 1;
export const PREFIX_ANSWER_CONTENT_TYPE = 'application/vnd.otsd.prefix-timestamps.v1';
const MAX_COMMITMENT_BYTES = 64;
/** A complete proof is well under a kilobyte; clients refuse /timestamp answers over 10,000 bytes. */
const MAX_TIMESTAMP_BYTES = 10_000;

export interface PrefixEntry {
  commitment: Uint8Array;
  complete: boolean;
  timestamp: Timestamp;
}

export function encodePrefixAnswer(entries: readonly PrefixEntry[]): Uint8Array {
  const w = new Writer();
  w.writeByte(PREFIX_ANSWER_VERSION);
  w.writeVarUint(entries.length);
  for (const entry of entries) {
    w.writeVarBytes(entry.commitment);
    w.writeByte(entry.complete ? 1 : 0);
    w.writeVarBytes(entry.timestamp.toBytes());
  }
  return w.toBytes();
}

/** Parses an answer, refusing more than `maxEntries` entries, unsorted entries and oversized parts. */
export function decodePrefixAnswer(
  bytes: Uint8Array,
  maxEntries = 100_000,
  options?: TimestampReadOptions,
): PrefixEntry[] {
  const r = new Reader(bytes);
  const version = r.readByte();
  if (version !== PREFIX_ANSWER_VERSION)
    throw new DeserializationError(`prefix answer: unsupported version ${version}`, 0);
  const count = r.readVarUint();
  if (count > maxEntries)
    throw new DeserializationError(`prefix answer: ${count} entries, more than ${maxEntries}`, 1);
  const entries: PrefixEntry[] = [];
  for (let i = 0; i < count; i++) {
    const at = r.offset;
    const commitment = r.readVarBytes(MAX_COMMITMENT_BYTES, 1);
    const flags = r.readByte();
    if (flags > 1) throw new DeserializationError(`prefix answer: unknown flags ${flags}`, r.offset - 1);
    const timestamp = Timestamp.fromBytes(commitment, r.readVarBytes(MAX_TIMESTAMP_BYTES, 1), options);
    const previous = entries[entries.length - 1];
    if (previous && compareBytes(previous.commitment, commitment) >= 0) {
      throw new DeserializationError('prefix answer: entries not in ascending order', at);
    }
    entries.push({ commitment, complete: flags === 1, timestamp });
  }
  r.assertEof();
  return entries;
}
