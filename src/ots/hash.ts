/**
 * The hash functions the format's crypto ops use: node:crypto where OpenSSL has them, @noble/hashes
 * for keccak256 (Ethereum's Keccak, which is not SHA3-256 and which OpenSSL does not offer).
 * @module
 */
import { hash } from 'node:crypto';
import { keccak_256 } from '@noble/hashes/sha3.js';

const digest =
  (algorithm: string) =>
  (data: Uint8Array): Uint8Array =>
    hash(algorithm, data, 'buffer');

export const sha1: (data: Uint8Array) => Uint8Array = digest('sha1');
export const ripemd160: (data: Uint8Array) => Uint8Array = digest('ripemd160');
export const sha256: (data: Uint8Array) => Uint8Array = digest('sha256');
export const keccak256: (data: Uint8Array) => Uint8Array = (data) => keccak_256(data);

/** sha256(sha256(data)): Bitcoin's txid and block-merkle hash. */
export const sha256d = (data: Uint8Array): Uint8Array => sha256(sha256(data));
