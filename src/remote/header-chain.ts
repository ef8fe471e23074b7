/**
 * Checks Bitcoin attestations without a node: headers fetched from the upstream calendar are checked
 * for proof of work (the block hash under the target its nBits sets, and that target no easier than
 * the network's limit) and for continuity (each header names the previous one's hash) over a window
 * of blocks before the attested one. Weaker than a node of one's own: a calendar could still fake a
 * short chain at minimum difficulty; it cannot hand out a header that fails either check.
 * @module
 */
import { BlockHeader, equalBytes, sha256d, toHex } from '../ots/index.js';
import { type HeaderCheck, MirrorIntegrityError } from './journal-follower.js';

/** Headers checked for continuity before the attested block. */
const WINDOW = 10;

/** The target nBits encodes, as a number compared with the block hash read little-endian. */
export function targetFromBits(bits: number): bigint {
  const exponent = bits >>> 24;
  const mantissa = BigInt(bits & 0x007fffff);
  return exponent <= 3 ? mantissa >> BigInt(8 * (3 - exponent)) : mantissa << BigInt(8 * (exponent - 3));
}

const hashValue = (header: Uint8Array): bigint => BigInt(`0x${toHex(sha256d(header).reverse())}`);

/** Easiest target a network allows (its powLimit). */
const POW_LIMIT: Record<string, bigint> = {
  main: targetFromBits(0x1d00ffff),
  test: targetFromBits(0x1d00ffff),
  signet: targetFromBits(0x1e0377ae),
  regtest: targetFromBits(0x207fffff),
  'bcoin-regtest': targetFromBits(0x207fffff),
};

/** Headers fetched from the upstream (what a mirror without a node serves to its own followers). */
export function upstreamHeaders(upstream: string, timeoutMs = 30_000) {
  const base = upstream.replace(/\/+$/, '');
  return async (from: number, count: number): Promise<{ network: string; headers: Uint8Array[] }> => {
    const response = await fetch(`${base}/bitcoin/headers?from=${from}&count=${count}`, {
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (response.status !== 200)
      throw new Error(`headers ${from}+${count} from ${base}: HTTP ${response.status}`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (bytes.byteLength % 80 !== 0)
      throw new MirrorIntegrityError(`headers from ${base}: ${bytes.byteLength} bytes is not whole headers`);
    const headers = Array.from({ length: bytes.byteLength / 80 }, (_, i) =>
      bytes.subarray(i * 80, i * 80 + 80),
    );
    return { network: response.headers.get('x-otsd-network') ?? 'main', headers };
  };
}

export function upstreamHeaderCheck(upstream: string, timeoutMs = 30_000): HeaderCheck {
  const fetchHeaders = upstreamHeaders(upstream, timeoutMs);
  return async (height, merkleRoot) => {
    const from = Math.max(0, height - WINDOW);
    const { network, headers } = await fetchHeaders(from, height - from + 1);
    if (headers.length !== height - from + 1)
      throw new Error(`headers ${from}..${height}: the upstream has ${headers.length}`);
    const fail = (h: number, why: string): never => {
      throw new MirrorIntegrityError(`Bitcoin header ${h} from the upstream ${why}`);
    };
    const limit = POW_LIMIT[network];
    let previous: Uint8Array | undefined;
    for (let i = 0; i <= height - from; i++) {
      const raw = headers[i] as Uint8Array;
      const header = new BlockHeader(raw);
      // Litecoin's proof of work is scrypt, not sha256d: there only continuity is checked
      if (limit !== undefined) {
        const target = targetFromBits(header.bits);
        if (target > limit) fail(from + i, 'claims a target easier than the network allows');
        if (hashValue(raw) > target) fail(from + i, 'lacks its proof of work');
      }
      if (previous && !equalBytes(header.prevBlockHash, sha256d(previous)))
        fail(from + i, 'does not link to the one before it');
      previous = raw;
    }
    if (!equalBytes(new BlockHeader(previous as Uint8Array).merkleRoot, merkleRoot)) {
      fail(height, 'does not match the attestation (merkle root)');
    }
  };
}
