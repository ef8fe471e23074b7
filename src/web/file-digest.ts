/**
 * A file's digest, hashed chunk by chunk as the browser reads it (a large file is never held whole),
 * with the hash of any of the format's crypto ops. @noble/hashes, as `otsd/ots` uses outside Node.
 * @module
 */
import { ripemd160, sha1 } from '@noble/hashes/legacy.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import type { CryptOp } from '../ots/index.js';

const HASHES = { sha1, ripemd160, sha256, keccak256: keccak_256 } as const;

export async function streamDigest(op: CryptOp, chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const hash = HASHES[op.name as keyof typeof HASHES];
  if (!hash) throw new RangeError(`no streaming hash for ${op.name}`);
  const state = hash.create();
  for await (const chunk of chunks) state.update(chunk);
  return state.digest();
}
