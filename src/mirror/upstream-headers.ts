/**
 * Block headers from the upstream (GET /bitcoin/headers), for a mirror without a node: read with a
 * bound, and refused unless the upstream names the mirror's own network. What network the headers
 * belong to is the mirror's setting, never the upstream's word.
 * @module
 */
import { BLOCK_HEADER_LENGTH } from '../ots/index.js';
import { type ChainRules, chainRules } from './checkpoints/index.js';
import {
  CheckpointedChain,
  type CheckpointedChainOptions,
  checkpointedHeaderCheck,
  type HeaderSource,
} from './header-chain.js';
import type { HeaderCheck } from './header-check.js';
import { MirrorIntegrityError } from './integrity-error.js';
import { UpstreamGetter } from './upstream-get.js';

/** Headers of `network` from `upstream`; an upstream that names another network is refused. */
export function upstreamHeaders(upstream: string, network: string, timeoutMs = 30_000): HeaderSource {
  const base = upstream.replace(/\/+$/, '');
  const getter = new UpstreamGetter();
  return async (from, count) => {
    const where = `headers ${from}+${count} from ${base}`;
    const { status, headers, body } = await getter.get(
      `${base}/bitcoin/headers?from=${from}&count=${count}`,
      {
        limit: count * BLOCK_HEADER_LENGTH,
        timeoutMs,
      },
    );
    // GET /bitcoin/headers: "no block at that height yet"
    if (status === 404) return [];
    if (status !== 200) throw new Error(`${where}: HTTP ${status}`);
    const named = headers['x-otsd-network'];
    if (named !== network) {
      throw new MirrorIntegrityError(
        `${where}: the upstream says its headers are of ${typeof named !== 'string' ? 'no network' : `network ${JSON.stringify(named.slice(0, 40))}`}; this mirror checks ${network} (--bitcoin-network)`,
      );
    }
    if (body.byteLength % BLOCK_HEADER_LENGTH !== 0) {
      throw new MirrorIntegrityError(`${where}: ${body.byteLength} bytes is not whole headers`);
    }
    return Array.from({ length: body.byteLength / BLOCK_HEADER_LENGTH }, (_, i) =>
      body.subarray(i * BLOCK_HEADER_LENGTH, (i + 1) * BLOCK_HEADER_LENGTH),
    );
  };
}

/** Why a mirror without a node cannot check `network`, or undefined when it can. */
export function nodeLessCheckRefusal(network: string): string | undefined {
  return chainRules(network)
    ? undefined
    : `a mirror without a node cannot check Bitcoin attestations on ${network}: only mainnet headers carry work otsd can check without a node (regtest's is trivial, a testnet3 or signet header past the last checkpoint is forged in seconds, Litecoin's is scrypt). Give the mirror its own node (--bitcoin-rpc), or skip the check with --mirror-headers insecure-none (anyone upstream can then forge proofs)`;
}

/**
 * Checks attestations against headers of `network` from `upstream`, linked to the compiled-in
 * checkpoints (header-chain.ts). Throws for a network without them (see nodeLessCheckRefusal).
 * `rules`, `confirmations` and `now` replace the compiled-in ones and the clock (for tests).
 */
export function upstreamHeaderCheck(
  upstream: string,
  network: string,
  options: { timeoutMs?: number; rules?: ChainRules } & CheckpointedChainOptions = {},
): HeaderCheck {
  const { timeoutMs, rules = chainRules(network), ...chainOptions } = options;
  if (!rules) throw new Error(nodeLessCheckRefusal(network));
  const chain = new CheckpointedChain(rules, upstreamHeaders(upstream, network, timeoutMs), chainOptions);
  return checkpointedHeaderCheck(chain);
}
