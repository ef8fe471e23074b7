/**
 * The hash functions the format's crypto ops use. sha1, ripemd160 and sha256 come from `#ots-digests`
 * (package.json "imports"): node:crypto in Node, @noble/hashes in browsers; keccak256 (Ethereum's
 * Keccak, which is not SHA3-256 and which OpenSSL does not offer) from @noble/hashes everywhere.
 * @module
 */
import { keccak_256 } from '@noble/hashes/sha3.js';
import { ripemd160, sha1, sha256 } from '#ots-digests';

export { ripemd160, sha1, sha256 };
export const keccak256 = (data: Uint8Array): Uint8Array => keccak_256(data);

/** sha256(sha256(data)): Bitcoin's txid and block-merkle hash. */
export const sha256d = (data: Uint8Array): Uint8Array => sha256(sha256(data));
