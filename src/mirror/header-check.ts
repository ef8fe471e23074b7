/**
 * How a mirror checks a Bitcoin attestation it copies: against its own node, or (see header-chain.ts
 * and upstream-headers.ts) against headers linked to the compiled-in checkpoints.
 * @module
 */
import { equalBytes, fromHex } from '../ots/index.js';
import { MirrorIntegrityError } from './integrity-error.js';

/**
 * Checks a Bitcoin attestation: that `merkleRoot` is the merkle root of the block at `height`. Throws
 * MirrorIntegrityError when it is not, NotYetConfirmedError when it cannot tell yet, and any other
 * Error when its source of headers fails.
 */
export type HeaderCheck = (height: number, merkleRoot: Uint8Array) => Promise<void>;

/**
 * An attestation that cannot be checked yet, though it may be later: its block is past the headers
 * there are, has less work on it than the check waits for, or is timed ahead of this machine's clock.
 * A mirror retries it.
 */
export class NotYetConfirmedError extends Error {
  override name = 'NotYetConfirmedError';
}

/** A HeaderCheck against a node's block headers (merkle root bytes 36..68, internal order). */
export function nodeHeaderCheck(getHeaderHex: (height: number) => Promise<string>): HeaderCheck {
  return async (height, merkleRoot) => {
    const header = fromHex(await getHeaderHex(height));
    if (!equalBytes(header.subarray(36, 68), merkleRoot)) {
      throw new MirrorIntegrityError(
        `Bitcoin attestation at height ${height} does not match the node's block header`,
      );
    }
  };
}

/**
 * Accepts every Bitcoin attestation unchecked. INSECURE: an upstream can then hand out proofs of
 * anything. Only for journals whose proofs reach no real chain (tests, demos).
 */
export const insecureNoHeaderCheck: HeaderCheck = async () => {};
