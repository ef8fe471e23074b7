/**
 * sha1, ripemd160 and sha256 from @noble/hashes (plain JavaScript): what `#ots-digests` resolves to
 * outside Node (browsers, bundlers), so `otsd/ots` needs no Node built-in and no polyfill.
 * @module
 */
import { ripemd160 as nobleRipemd160, sha1 as nobleSha1 } from '@noble/hashes/legacy.js';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';

export const sha1 = (data: Uint8Array): Uint8Array => nobleSha1(data);
export const ripemd160 = (data: Uint8Array): Uint8Array => nobleRipemd160(data);
export const sha256 = (data: Uint8Array): Uint8Array => nobleSha256(data);
