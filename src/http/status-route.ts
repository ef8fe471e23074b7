/**
 * `GET /status`: the status page. HTML for people; JSON for `Accept: application/json` (the reference's
 * switch), with `Vary: Accept` so caches keep both. `GET /` answers the same JSON, as the reference
 * does, and people the page (page-route.ts).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { UpstreamHealth } from '../aggregator/upstream-sink.js';
import type { ScanProgress } from '../anchoring/chain-follower.js';
import { type CollaborationStatus, FALLBACK_REASONS } from '../anchoring/collaboration.js';
import type { AnchoringStatus } from '../anchoring/coordinator.js';
import type { ExternalStatus } from '../anchoring/external-stamping.js';
import type { FullCheckState } from '../index/full-check.js';
import type { JournalOutage } from '../journal/outage.js';
import type { MirrorStatus } from '../mirror/mirror.js';
import type { PrefixLimits } from './prefix-route.js';

/** What a node that keeps a calendar (its own or a mirrored one) reports. */
export interface CalendarStatus {
  uri: string;
  /** `unavailable`: while the journal refuses appends for a storage fault it waits out. */
  journal: { records: number; chainHash: string; unavailable?: JournalOutage };
  /** The full check of the index against the journal after start (absent: not started). */
  indexCheck?: FullCheckState;
  pendingCommitments: number;
  /** All commitments, for clients sizing the anonymity set of a prefix query. */
  commitments: number;
  prefixQueries: PrefixLimits;
}

export interface NodeStatus {
  role: 'calendar' | 'mirror' | 'aggregator';
  version: string;
  uptimeSeconds: number;
  /** Absent on a stand-alone aggregator, which keeps no calendar. */
  calendar?: CalendarStatus;
  waitingDigests: number;
  roundIntervalMs: number;
  lastMinute: { rounds: number; digests: number };
  totals: { rounds: number; digests: number };
  anchoring?: AnchoringStatus & { network: string; demo: boolean; minConfirmations: number };
  /** A calendar with masters: collaborative stamping. */
  collaboration?: CollaborationStatus;
  /** A calendar taking external transactions (donations). */
  external?: ExternalStatus;
  mirror?: MirrorStatus;
  /** Where rounds go, on an aggregator or a mirror that aggregates. */
  upstreams?: UpstreamHealth[];
  /** What an operator must know: the node works, but not as they would expect (one sentence each). */
  warnings: string[];
}

const wantsJson = (request: FastifyRequest) => (request.headers.accept ?? '').includes('application/json');

export function statusRoute(
  app: FastifyInstance,
  status: () => NodeStatus,
  page: (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>,
): void {
  /** `health`: answer 503 (with the same page) while the calendar cannot take digests. */
  const answer = (health: boolean) => async (request: FastifyRequest, reply: FastifyReply) => {
    const current = status();
    if (health && current.calendar?.journal.unavailable) reply.code(503);
    reply.header('cache-control', 'public, max-age=5').header('vary', 'Accept');
    if (wantsJson(request)) {
      return reply.header('content-type', 'application/json').send(statusJson(current));
    }
    return reply.header('content-type', 'text/html; charset=utf-8').send(statusHtml(current));
  };
  // the health check that monitors and load balancers poll
  app.get('/status', answer(true));
  // clients read the JSON at /, as from the reference server: 200 whatever the node's health
  app.get('/', async (request, reply) =>
    wantsJson(request) ? answer(false)(request, reply) : page(request, reply),
  );
}

/** Field names in the reference's snake_case; `pending_commitments` is a number here, not a string. */
export function statusJson(s: NodeStatus): string {
  const c = s.calendar;
  const now = Date.now();
  return JSON.stringify({
    role: s.role,
    version: s.version,
    warnings: s.warnings,
    ...(c && { uri: c.uri }),
    uptime_seconds: s.uptimeSeconds,
    ...(c && {
      pending_commitments: c.pendingCommitments,
      commitments: c.commitments,
      index_check: c.indexCheck ?? null,
      prefix_queries: { min_nibbles: c.prefixQueries.minNibbles, max_entries: c.prefixQueries.maxEntries },
    }),
    waiting_digests: s.waitingDigests,
    ...(c && {
      journal: {
        records: c.journal.records,
        chain_hash: c.journal.chainHash,
        unavailable: c.journal.unavailable
          ? {
              reason: c.journal.unavailable.reason,
              since_seconds: Math.floor((now - c.journal.unavailable.since) / 1000),
              retries: c.journal.unavailable.retries,
            }
          : null,
      },
    }),
    round_interval_ms: s.roundIntervalMs,
    last_minute: s.lastMinute,
    totals: s.totals,
    ...(s.upstreams && {
      upstreams: s.upstreams.map((u) => ({
        url: u.url,
        rounds: u.rounds,
        failures: u.failures,
        consecutive_failures: u.consecutiveFailures,
        last_latency_ms: u.lastLatencyMs ?? null,
        last_success_age_seconds:
          u.lastSuccessAt === undefined ? null : Math.floor((now - u.lastSuccessAt) / 1000),
        last_error: u.lastError ?? null,
      })),
    }),
    ...(s.mirror && {
      mirror: {
        upstream: s.mirror.upstream,
        local_records: s.mirror.localRecords,
        upstream_records: s.mirror.upstreamRecords ?? null,
        lag_records: s.mirror.lagRecords ?? null,
        last_sync_age_seconds: s.mirror.lastSyncAgeSeconds ?? null,
        state: s.mirror.state,
        refusals: s.mirror.refusals,
        last_refusal: s.mirror.lastRefusal?.reason ?? null,
        last_refusal_age_seconds: s.mirror.lastRefusal?.ageSeconds ?? null,
        unreachable: s.mirror.unreachable ?? null,
        waiting: s.mirror.waiting ?? null,
        // the name older otsd gave any stop: now only a fork stops a mirror
        integrity_error: s.mirror.fork ?? null,
      },
    }),
    ...(s.anchoring && {
      anchoring: {
        network: s.anchoring.network,
        regtest_demo: s.anchoring.demo,
        address: s.anchoring.address,
        last_anchor_age_seconds: s.anchoring.lastAnchorAgeSeconds ?? null,
        in_flight: s.anchoring.inFlight
          ? {
              txid: s.anchoring.inFlight.txid,
              versions: s.anchoring.inFlight.versions,
              fee_rate: s.anchoring.inFlight.feeRate,
              fee_sats: s.anchoring.inFlight.fee,
              commitments: s.anchoring.inFlight.commitments,
              confirmations: s.anchoring.inFlight.confirmations,
            }
          : null,
        fees_spent_sats: s.anchoring.feesSpentSats,
        balance_sats: s.anchoring.balanceSats,
        chain_height: s.anchoring.chainHeight,
        chain_scan: scanJson(s.anchoring.chainScan),
        min_confirmations: s.anchoring.minConfirmations,
        last_error: s.anchoring.lastError ?? null,
      },
    }),
    ...(s.collaboration && {
      // what a calendar that delegates to this one reads to refuse a cycle: collaboration.masters[].url
      collaboration: {
        masters: s.collaboration.masters.map((m) => ({
          url: m.url,
          state: m.state,
          consecutive_misses: m.consecutiveMisses,
          open_delegations: m.openDelegations,
          last_proof_blocks: m.lastProofBlocks ?? null,
          last_error: m.lastError ?? null,
          ...(m.cycle && { cycle: m.cycle }),
        })),
        timeout_blocks: s.collaboration.timeoutBlocks,
        max_wait_blocks: s.collaboration.maxWaitBlocks,
        next_deadline: s.collaboration.nextDeadline ?? null,
        delegations_in_flight: s.collaboration.delegationsInFlight,
        waiting_commitments: s.collaboration.waitingCommitments,
        fallbacks: s.collaboration.fallbacks,
        fallback_can_pay: s.anchoring?.canPay ?? false,
      },
    }),
    ...(s.external && {
      external: {
        offered_tips: s.external.offeredTips,
        donations: s.external.donations,
        fees_saved_sats: s.external.feesSavedSats,
      },
    }),
  });
}

/** A master's state, in a few words. */
function describeMaster(m: CollaborationStatus['masters'][number]): string {
  const open = `${m.openDelegations} delegation(s) open`;
  const last =
    m.lastProofBlocks === undefined ? '' : `, last proof ${m.lastProofBlocks} blocks after its tip`;
  switch (m.state) {
    case 'ok':
      return `answering; ${open}${last}${m.lastError ? `; last problem: ${escapeHtml(m.lastError)}` : ''}`;
    case 'down':
      return `not answering: ${escapeHtml(m.lastError ?? '')}; ${open}`;
    case 'degraded':
      return `missed ${m.consecutiveMisses} times in a row: still given each tip, not waited on; ${open}${m.lastError ? `; ${escapeHtml(m.lastError)}` : ''}`;
    case 'cycle':
      return `refused: its masters lead back to this calendar (${escapeHtml((m.cycle ?? []).join(' → '))})`;
  }
}

function scanJson(p: ScanProgress): object {
  switch (p.state) {
    case 'scanning':
      return {
        state: p.state,
        from: p.from,
        scanned_height: p.height,
        node_height: p.nodeHeight,
        blocks_to_go: p.nodeHeight - p.height,
      };
    case 'following':
      return { state: p.state, scanned_height: p.height };
    default:
      return { state: p.state };
  }
}

/** What the stamper is doing with the chain, in a few words. */
function describeScan(p: ScanProgress): string {
  switch (p.state) {
    case 'waiting':
      return 'waiting for the node';
    case 'reading-utxo-set':
      return "reading the key's outputs from the node's UTXO set (a pruned node)";
    case 'scanning':
      return `scanning the chain from ${p.from} (${p.nodeHeight - p.height} blocks to go)`;
    case 'following':
      return `following, at height ${p.height}`;
  }
}

/** What a mirror is doing, in a sentence. */
function mirrorState(m: MirrorStatus): string {
  switch (m.state) {
    case 'following':
      return 'following';
    case 'refusing':
      return "retrying: the upstream's data does not check out and was refused (see below)";
    case 'unreachable':
      return `retrying: the upstream cannot be reached: ${escapeHtml(m.unreachable ?? '')}`;
    case 'waiting':
      return `waiting: ${escapeHtml(m.waiting ?? '')}`;
    case 'stopped':
      return `<strong>stopped following for good</strong>: ${escapeHtml(m.fork ?? '')}. It serves what it verified; see docs/operating.md, "When things go wrong"`;
  }
}

export const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );

function duration(seconds: number): string {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return d > 0 ? `${d}d ${h}h ${m}m` : h > 0 ? `${h}h ${m}m` : `${m}m ${Math.floor(seconds % 60)}s`;
}

export function statusHtml(s: NodeStatus): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const c = s.calendar;
  const rows: [string, string][] = [];
  if (c) {
    rows.push(
      ['Calendar URI', `<code>${escapeHtml(c.uri)}</code>`],
      ['Pending commitments', `${n(c.pendingCommitments)} of ${n(c.commitments)}`],
    );
  } else {
    rows.push(['Role', 'aggregator: rounds go to the calendars below, which keep the proofs']);
  }
  rows.push(
    ['Digests waiting for the next round', n(s.waitingDigests)],
    ['Last minute', `${n(s.lastMinute.digests)} digests in ${n(s.lastMinute.rounds)} rounds`],
    ['Since start', `${n(s.totals.digests)} digests in ${n(s.totals.rounds)} rounds`],
    ['Round interval', `${n(s.roundIntervalMs)} ms`],
  );
  if (c) rows.push(['Journal', `${n(c.journal.records)} records, head <code>${c.journal.chainHash}</code>`]);
  for (const u of s.upstreams ?? []) {
    const state =
      u.consecutiveFailures === 0 && u.lastSuccessAt !== undefined
        ? `answering, ${n(u.lastLatencyMs ?? 0)} ms; ${n(u.failures)} of ${n(u.rounds)} rounds failed`
        : `${u.lastSuccessAt === undefined ? 'no answer yet' : `failing; last answer ${duration((Date.now() - u.lastSuccessAt) / 1000)} ago`}${u.lastError ? `: ${escapeHtml(u.lastError)}` : ''}`;
    rows.push([`Upstream <code>${escapeHtml(u.url)}</code>`, state]);
  }
  rows.push(['Uptime', duration(s.uptimeSeconds)], ['Version', `otsd ${escapeHtml(s.version)}`]);
  const m = s.mirror;
  if (m) {
    rows.splice(
      1,
      0,
      ['Mirror of', `<code>${escapeHtml(m.upstream)}</code>`],
      [
        'Mirror lag',
        m.lagRecords !== undefined
          ? `${n(m.lagRecords)} records`
          : m.lastSyncAgeSeconds !== undefined
            ? `unknown: last in sync ${duration(m.lastSyncAgeSeconds)} ago`
            : 'not synced yet',
      ],
      ['Mirror state', mirrorState(m)],
      ...(m.lastRefusal
        ? [
            [
              'Upstream data refused',
              `${n(m.refusals)} times since start; last ${duration(m.lastRefusal.ageSeconds)} ago: ${escapeHtml(m.lastRefusal.reason)}`,
            ] as [string, string],
          ]
        : []),
    );
  }
  const a = s.anchoring;
  if (a) {
    const inFlight = a.inFlight
      ? `<code>${a.inFlight.txid}</code>: ${n(a.inFlight.commitments)} commitments, ${a.inFlight.versions} version(s), ${a.inFlight.feeRate.toFixed(1)} sat/vB, ${a.inFlight.confirmations}/${a.minConfirmations} confirmations`
      : 'none';
    rows.splice(
      3,
      0,
      [
        'Bitcoin network',
        `${escapeHtml(a.network)}${a.demo ? ' <strong>(regtest demo: these proofs are not on the real Bitcoin chain)</strong>' : ''}`,
      ],
      [
        'Last anchor',
        a.lastAnchorAgeSeconds === undefined ? 'none since start' : `${duration(a.lastAnchorAgeSeconds)} ago`,
      ],
      ['Transaction in flight', inFlight],
      ['Chain', describeScan(a.chainScan)],
      ['Fees spent since start', `${n(a.feesSpentSats)} sat`],
      ['Balance', `${n(a.balanceSats)} sat at <code>${escapeHtml(a.address)}</code>`],
      ...(a.lastError ? [['Last stamping problem', escapeHtml(a.lastError)] as [string, string]] : []),
    );
  }
  const co = s.collaboration;
  if (co) {
    rows.push(
      ...co.masters.map(
        (m) => [`Master <code>${escapeHtml(m.url)}</code>`, describeMaster(m)] as [string, string],
      ),
      [
        'Delegations in flight',
        `${n(co.delegationsInFlight)}; ${n(co.waitingCommitments)} commitments wait on a master${co.nextDeadline === undefined ? '' : `, until block ${n(co.nextDeadline)}`} (${n(co.timeoutBlocks)} blocks after submission; at most ${n(co.maxWaitBlocks)} once the master's transaction is in this calendar's chain)`,
      ],
      [
        'Fallbacks to the own transaction',
        FALLBACK_REASONS.map((r) => `${r.replace('_', ' ')} ${n(co.fallbacks[r])}`).join(', '),
      ],
      ['Fallback', a?.canPay ? 'can pay' : '<strong>cannot pay: no spendable coin</strong>'],
    );
  }
  const ex = s.external;
  if (ex) {
    const states = Object.entries(ex.donations).filter(([, count]) => count > 0);
    rows.push(
      ['Tips offered (GET /external/tips)', n(ex.offeredTips)],
      [
        'Donations',
        states.length === 0
          ? 'none since start'
          : states.map(([state, count]) => `${state} ${n(count)}`).join(', '),
      ],
      ['Fees paid by donations', `${n(ex.feesSavedSats)} sat`],
    );
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>OpenTimestamps ${c ? `calendar ${escapeHtml(c.uri)}` : 'aggregator'}</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.4rem}table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.4rem .6rem;border-bottom:1px solid #ddd;vertical-align:top}
th{width:18rem;font-weight:600}code{font-size:.85em;word-break:break-all}p{color:#555}
.warning{color:#222;background:#fff3cd;border:1px solid #e0c36a;padding:.5rem .75rem}
</style></head><body>
<h1>OpenTimestamps ${c ? 'calendar' : 'aggregator'}</h1>
${c ? `<p>This server timestamps digests for OpenTimestamps clients: <code>ots stamp -c ${escapeHtml(c.uri)} FILE</code>.</p>` : '<p>This server aggregates digests for OpenTimestamps clients and passes them on to the calendars below.</p>'}
${s.warnings.map((w) => `<p class="warning"><strong>Warning:</strong> ${escapeHtml(w)}</p>`).join('\n')}
<table>
${rows.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`).join('\n')}
</table>
<p><a href="./">Stamp and verify files</a> · <a href="https://opentimestamps.org">opentimestamps.org</a></p>
</body></html>
`;
}
