/**
 * sha1, ripemd160 and sha256 from node:crypto (OpenSSL): what `#ots-digests` resolves to in Node,
 * faster than the portable ones on the short messages proofs hash. Same API as digests-portable.ts,
 * which browsers get; test/ots/digests.test.ts holds the two to the same output.
 * @module
 */
import { hash } from 'node:crypto';

/**
 * The digest as a latin1 string (Node's 'binary' encoding), copied into a plain Uint8Array. On the
 * 32-64-byte messages of a proof this takes half the time of asking for a Buffer (about 0.37 against
 * 0.8 us here): node:crypto allocates each Buffer's backing store natively, and a proof hashes once
 * per op.
 */
function digest(algorithm: string, data: Uint8Array): Uint8Array {
  const latin1 = hash(algorithm, data, 'binary');
  const length = latin1.length;
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = latin1.charCodeAt(i);
  return out;
}

export const sha1 = (data: Uint8Array): Uint8Array => digest('sha1', data);
export const ripemd160 = (data: Uint8Array): Uint8Array => digest('ripemd160', data);
export const sha256 = (data: Uint8Array): Uint8Array => digest('sha256', data);
