/**
 * The mirror role from its settings: the mirror itself, and how it checks the Bitcoin attestations it
 * copies: against its own node (--bitcoin-rpc); without one, against headers from its upstream linked
 * to the compiled-in checkpoints of its own network (--bitcoin-network), refused at start on any
 * network but mainnet; or, named so and warned about, not at all (--mirror-headers insecure-none).
 * Also the headers it serves its own followers.
 * @module
 */
import type { NetworkName } from '../bitcoin/network.js';
import type { NodeClient } from '../bitcoin/node-client.js';
import type { Calendar } from '../calendar/calendar.js';
import type { HeaderSource } from '../http/headers-route.js';
import { type HeaderCheck, insecureNoHeaderCheck, nodeHeaderCheck } from '../mirror/header-check.js';
import { Mirror, type MirrorOptions } from '../mirror/mirror.js';
import { nodeLessCheckRefusal, upstreamHeaderCheck, upstreamHeaders } from '../mirror/upstream-headers.js';
import type { HeadersTrust } from '../web/facts.js';

export type MirrorHeaders = 'upstream' | 'insecure-none';
export const MIRROR_HEADERS: readonly MirrorHeaders[] = ['upstream', 'insecure-none'];

export interface MirrorChecks {
  upstream: string;
  headers: MirrorHeaders;
  /** The network the mirror's attestations belong to: its own setting, never the upstream's word. */
  network: NetworkName;
  /** The mirror's own node, the authority when given. */
  node: NodeClient | undefined;
}

/** Said at start and on the status page of a mirror that checks none of the proofs it copies. */
const UNCHECKED_MIRROR_WARNING =
  '--mirror-headers insecure-none and no Bitcoin node (--bitcoin-rpc): this mirror checks none of the Bitcoin attestations it copies, so its upstream can pass forged proofs through it';

/** What the settings leave unchecked, to say at start and on the status page. */
export function mirrorWarnings(o: MirrorChecks): string[] {
  return !o.node && o.headers === 'insecure-none' ? [UNCHECKED_MIRROR_WARNING] : [];
}

/** Throws, naming the way out, when the settings leave the mirror unable to check what it copies. */
export function checkMirrorSettings(o: MirrorChecks): void {
  const refusal = !o.node && o.headers === 'upstream' ? nodeLessCheckRefusal(o.network) : undefined;
  if (refusal) throw new Error(refusal);
}

export function mirrorHeaderCheck(o: MirrorChecks): HeaderCheck {
  if (o.node) {
    const node = o.node;
    return nodeHeaderCheck((height) => node.blockHeaderHex(height));
  }
  return o.headers === 'insecure-none' ? insecureNoHeaderCheck : upstreamHeaderCheck(o.upstream, o.network);
}

/** The mirror following `o.upstream` into `calendar`, checking what it copies as `o` says. */
export function createMirror(
  o: MirrorChecks,
  calendar: Calendar,
  events: Pick<MirrorOptions, 'log' | 'onProgress' | 'onRefusal'>,
): Mirror {
  return new Mirror({ upstream: o.upstream, calendar, checkHeader: mirrorHeaderCheck(o), ...events });
}

/** Whose headers a mirror serves, and what it checked against them: the page says so. */
export function mirrorHeadersTrust(o: MirrorChecks): Exclude<HeadersTrust, 'none'> {
  if (o.node) return 'own node';
  return o.headers === 'insecure-none' ? 'upstream unchecked' : 'upstream';
}

/** GET /bitcoin/headers of a mirror: its node's, or its upstream's (of its own network only). */
export function mirrorHeaderSource(o: MirrorChecks): HeaderSource {
  const fetchHeaders = o.node
    ? (from: number, count: number) => (o.node as NodeClient).headers(from, count)
    : upstreamHeaders(o.upstream, o.network);
  return async (from, count) => ({ network: o.network, headers: await fetchHeaders(from, count) });
}
