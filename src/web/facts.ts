/**
 * What the page may do on the server that serves it, and the sentences that say so: the server writes
 * them into the page, and the page's script repeats the trust sentence beside each verification.
 * @module
 */

/**
 * Where a server's block headers (GET /bitcoin/headers) come from: its own node; or, on a mirror
 * without one, its upstream's, against which it checked the proofs it copied (linked to compiled-in
 * checkpoints), or checked nothing (--mirror-headers insecure-none); or nowhere.
 */
export type HeadersTrust = 'own node' | 'upstream' | 'upstream unchecked' | 'none';

export interface PageFacts {
  role: 'calendar' | 'mirror' | 'aggregator';
  /** The calendar's URI, named by the pending attestations it hands out (absent on an aggregator). */
  uri?: string;
  /** The calendar a mirror follows, or the calendars an aggregator (or aggregating mirror) submits to. */
  upstreams: string[];
  /** Whether this server takes digests itself (a calendar, an aggregator, a mirror with --aggregate). */
  stamping: boolean;
  /** Whether it serves proofs (GET /timestamp): calendars and mirrors. */
  proofs: boolean;
  /** Whose node the block headers it serves come from. */
  headers: HeadersTrust;
  /** The Bitcoin network of the calendar's own node, when it has one. */
  network?: string;
}

/** Where a stamp made on this page goes, and what its pending attestation names. */
export function stampNote(f: PageFacts): string {
  const upstream = f.upstreams.join(', ');
  if (f.role === 'aggregator')
    return `This aggregator passes each round of digests to ${upstream}; your .ots names them, and they upgrade it.`;
  if (f.role === 'mirror' && f.stamping)
    return `This mirror passes digests to the calendar it follows, ${upstream}, whose pending attestation your .ots carries.`;
  if (f.role === 'mirror')
    return `This server is a mirror of ${upstream} and takes no digests itself: stamping here works only if this site passes digests on to a calendar (as a scale-out site does); otherwise the page shows the refusal, and ${upstream} takes them.`;
  return `The digests go to this calendar, ${f.uri ?? ''}; your .ots carries its pending attestation, as "ots stamp -c ${f.uri ?? ''}" writes it.`;
}

/** Which pending attestations the page asks this server about. */
export function upgradeNote(f: PageFacts): string {
  if (!f.proofs)
    return 'This aggregator keeps no proofs: the page shows a timestamp and checks an original file, but upgrade it with "ots upgrade" at the calendars it names.';
  const calendars = [f.uri, ...(f.role === 'mirror' ? f.upstreams : [])].filter((u) => u !== undefined);
  return `Pending attestations of ${calendars.join(' or ')} (or of this site) are upgraded from this server; others are left as they are (upgrade them with "ots upgrade").`;
}

const isTestNetwork = (network: string | undefined) => network !== undefined && network !== 'main';

/** What a verification on this page trusts: whose node the block header comes from. */
export function trustNote(f: PageFacts, network = f.network): string {
  const chain = isTestNetwork(network)
    ? ` This is ${network}, a test chain: its proofs are not on the real Bitcoin chain.`
    : '';
  const own = ' "ots verify" with a Bitcoin node of your own trusts no one.';
  if (f.headers === 'own node')
    return `Verification here checks the proof against the block header served by this ${f.role}'s own Bitcoin node: it trusts that node.${own}${chain}`;
  const relayed = `Verification here checks the proof against the block header this mirror relays from the calendar it follows, ${f.upstreams.join(', ')}: it trusts that calendar's node.`;
  if (f.headers === 'upstream')
    return `${relayed} (This mirror has no Bitcoin node; it checked the proofs it copied against those headers, linked to the checkpoints compiled into otsd.)${own}${chain}`;
  if (f.headers === 'upstream unchecked')
    return `${relayed} (This mirror has no Bitcoin node and checked none of the proofs it copied: --mirror-headers insecure-none.)${own}${chain}`;
  return `This server has no Bitcoin node to take block headers from: the page shows a proof but cannot verify it. Use "ots verify" with a Bitcoin node.${chain}`;
}
