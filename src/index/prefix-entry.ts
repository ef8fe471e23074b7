/**
 * How the index keeps a commitment: its first PREFIX_BYTES, and the record that first holds it. The
 * first KEY_BYTES are an LMDB key; the value, packed among the key's others (DUPFIXED), is the next
 * PREFIX_REST_BYTES and the record number. The journal holds the rest of the commitment.
 * @module
 */

/** Bytes of a commitment in the key; the next PREFIX_REST_BYTES start the value, then its record number. */
export const KEY_BYTES = 2;
export const PREFIX_REST_BYTES = 4;
/** Bytes of a commitment the index keeps (the rest is read back from the journal). */
export const PREFIX_BYTES = KEY_BYTES + PREFIX_REST_BYTES;
const NUMBER_BYTES = 5;
export const VALUE_BYTES = PREFIX_REST_BYTES + NUMBER_BYTES;
/** A key and its value, one after the other (as PrefixEntryBatch keeps them). */
export const ENTRY_BYTES = KEY_BYTES + VALUE_BYTES;

/** The key and value of `commitment` at record `n` (a commitment shorter than 6 bytes padded with zeros). */
export function prefixEntry(commitment: Uint8Array, n: number): { key: Buffer; value: Buffer } {
  const entry = Buffer.allocUnsafe(ENTRY_BYTES);
  writePrefixEntry(commitment, n, entry, 0);
  return { key: entry.subarray(0, KEY_BYTES), value: entry.subarray(KEY_BYTES) };
}

/** prefixEntry's key and value, one after the other, written into `into` at `at`. */
export function writePrefixEntry(commitment: Uint8Array, n: number, into: Buffer, at: number): void {
  if (n >= 2 ** (8 * NUMBER_BYTES))
    throw new RangeError(`index: record ${n} does not fit a prefix entry's ${NUMBER_BYTES} bytes`);
  for (let i = 0; i < PREFIX_BYTES; i++) into[at + i] = commitment[i] ?? 0;
  into.writeUIntBE(n, at + PREFIX_BYTES, NUMBER_BYTES);
}

/** The record number in a value (or an entry's value starting at `at`). */
export function valueRecord(value: Buffer, at = 0): number {
  return value.readUIntBE(at + PREFIX_REST_BYTES, NUMBER_BYTES);
}
