/**
 * Prometheus metrics, served on their own listener (loopback by default) so they are never public by
 * accident. Counters are fed by events; gauges read the node's status when scraped.
 * @module
 */
import { createServer, type Server } from 'node:http';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { type CollaborationEvent, MASTER_STATES } from '../anchoring/collaboration.js';
import type { ClosedReason } from '../http/connections.js';
import type { NodeStatus } from '../http/status-route.js';
import { MIRROR_STATES } from '../mirror/mirror.js';
import { serverUrl } from './server-url.js';

export interface NodeMetrics {
  registry: Registry;
  /** One finished HTTP request. */
  request(route: string, method: string, status: number, seconds: number): void;
  /** One HTTP error answered (src/http/errors.ts), by its code. */
  httpError(code: string): void;
  /** One connection closed for stalling or past max_connections (src/http/connections.ts). */
  connectionClosed(reason: ClosedReason): void;
  /** One committed round. */
  round(digests: number): void;
  /** One round offered to an upstream calendar, with its outcome. */
  upstreamExchange(url: string, outcome: 'ok' | 'failed', seconds: number): void;
  /** A mirror refused its upstream's data once. */
  mirrorRefusal(): void;
  /** A submission to a master, a fallback to the own transaction, or a master's proof in time. */
  collaboration(event: CollaborationEvent): void;
}

type IndexCheckState = NonNullable<NonNullable<NodeStatus['calendar']>['indexCheck']>;

const INDEX_CHECK_VALUES: Record<IndexCheckState, number> = {
  running: 1,
  passed: 0,
  stopped: 0,
  'index damaged': 2,
  'journal damaged': 3,
};

/** `indexApplied` is for nodes that keep a calendar: the journal records their index has applied. */
export function createMetrics(status: () => NodeStatus, indexApplied?: () => number): NodeMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'otsd_' });
  const requests = new Histogram({
    name: 'otsd_http_request_duration_seconds',
    help: 'HTTP requests by route, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: [0.001, 0.005, 0.02, 0.1, 0.5, 1, 2, 5, 15],
    registers: [registry],
  });
  const httpErrors = new Counter({
    name: 'otsd_http_errors_total',
    help: 'HTTP errors answered, by code (OTSD_...), those for requests Node refused before routing included',
    labelNames: ['code'] as const,
    registers: [registry],
  });
  const closedConnections = new Counter({
    name: 'otsd_http_connections_closed_total',
    help: 'Connections otsd closed itself: stalled (answers left unread past the send timeout) or over-cap (past max_connections)',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const digests = new Counter({
    name: 'otsd_digests_total',
    help: 'Digests committed in rounds',
    registers: [registry],
  });
  const rounds = new Counter({
    name: 'otsd_rounds_total',
    help: 'Aggregation rounds committed',
    registers: [registry],
  });
  const roundSize = new Histogram({
    name: 'otsd_round_digests',
    help: 'Digests per round',
    buckets: [1, 10, 100, 1000, 10_000, 100_000],
    registers: [registry],
  });
  const gauge = (name: string, help: string, read: (s: NodeStatus) => number | undefined) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        const value = read(status());
        if (value !== undefined) this.set(value);
      },
    });
  gauge('otsd_journal_records', 'Records in the journal', (s) => s.calendar?.journal.records);
  gauge(
    'otsd_journal_unavailable',
    'The journal refuses appends (1) while it waits out a storage fault (disk full, I/O error), or takes them (0)',
    (s) => s.calendar && (s.calendar.journal.unavailable ? 1 : 0),
  );
  gauge(
    'otsd_index_check',
    'The full check of the index against the journal after start: 1 running, 0 passed, 2 the index damaged (lookups that find nothing get 503 until a restart rebuilds it), 3 the journal damaged',
    (s) => s.calendar?.indexCheck && INDEX_CHECK_VALUES[s.calendar.indexCheck],
  );
  gauge('otsd_index_lag_records', 'Journal records the index has not applied yet', (s) =>
    s.calendar && indexApplied ? s.calendar.journal.records - indexApplied() : undefined,
  );
  gauge(
    'otsd_pending_commitments',
    'Commitments waiting for a Bitcoin proof',
    (s) => s.calendar?.pendingCommitments,
  );
  gauge('otsd_commitments', 'Commitments in the calendar', (s) => s.calendar?.commitments);
  gauge('otsd_waiting_digests', 'Digests waiting for the next round', (s) => s.waitingDigests);
  gauge(
    'otsd_anchor_age_seconds',
    'Seconds since the last Bitcoin proof was written',
    (s) => s.anchoring?.lastAnchorAgeSeconds,
  );
  gauge(
    'otsd_anchor_fees_spent_sats',
    'Fees of transactions proved since start',
    (s) => s.anchoring?.feesSpentSats,
  );
  gauge(
    'otsd_wallet_balance_sats',
    "Value of the calendar key's known outputs",
    (s) => s.anchoring?.balanceSats,
  );
  gauge(
    'otsd_chain_scan_blocks_to_go',
    "Blocks the stamper has yet to read to reach the node's tip (absent until the node answers)",
    (s) => {
      const scan = s.anchoring?.chainScan;
      if (scan?.state === 'scanning') return scan.nodeHeight - scan.height;
      return scan?.state === 'following' ? 0 : undefined;
    },
  );
  gauge(
    'otsd_anchor_in_flight_fee_rate',
    'Fee rate of the stamping transaction in flight, sat/vB',
    (s) => s.anchoring?.inFlight?.feeRate ?? 0,
  );
  gauge(
    'otsd_mirror_lag_records',
    'Records a mirror is behind its upstream (NaN while unknown: before its first head, or unreachable)',
    (s) => s.mirror && (s.mirror.lagRecords ?? Number.NaN),
  );
  gauge(
    'otsd_mirror_last_sync_age_seconds',
    'Seconds since a mirror was last in sync with its upstream (NaN before the first time)',
    (s) => s.mirror && (s.mirror.lastSyncAgeSeconds ?? Number.NaN),
  );
  new Gauge({
    name: 'otsd_mirror_state',
    help: "A mirror's state: 1 for the current one (following, refusing, unreachable, waiting, stopped)",
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const mirror = status().mirror;
      if (!mirror) return;
      for (const state of MIRROR_STATES) this.set({ state }, state === mirror.state ? 1 : 0);
    },
  });
  const mirrorRefusals = new Counter({
    name: 'otsd_mirror_refusals_total',
    help: "Times a mirror refused its upstream's data (it did not check out) and retried",
    registers: [registry],
  });
  gauge(
    'otsd_mirror_stopped',
    'A mirror that stopped following for good, its upstream having forked (1), or following (0)',
    (s) => s.mirror && (s.mirror.fork ? 1 : 0),
  );
  const upstreamRounds = new Histogram({
    name: 'otsd_upstream_round_seconds',
    help: 'Rounds offered to upstream calendars: time to answer (and check the answer), by outcome',
    labelNames: ['upstream', 'outcome'] as const,
    buckets: [0.005, 0.02, 0.1, 0.5, 1, 2, 5, 10],
    registers: [registry],
  });
  new Gauge({
    name: 'otsd_upstream_last_success_age_seconds',
    help: 'Seconds since each upstream calendar last took a round (absent before its first)',
    labelNames: ['upstream'] as const,
    registers: [registry],
    collect() {
      const now = Date.now();
      for (const u of status().upstreams ?? []) {
        if (u.lastSuccessAt !== undefined) this.set({ upstream: u.url }, (now - u.lastSuccessAt) / 1000);
      }
    },
  });
  new Gauge({
    name: 'otsd_upstream_consecutive_failures',
    help: 'Rounds each upstream calendar failed since it last took one',
    labelNames: ['upstream'] as const,
    registers: [registry],
    collect() {
      for (const u of status().upstreams ?? []) this.set({ upstream: u.url }, u.consecutiveFailures);
    },
  });
  const masterSubmissions = new Counter({
    name: 'otsd_master_submissions_total',
    help: 'Tips given to master calendars, by master and outcome (accepted: the answer checked out and is journaled)',
    labelNames: ['master', 'outcome'] as const,
    registers: [registry],
  });
  const masterFallbacks = new Counter({
    name: 'otsd_master_fallbacks_total',
    help: 'Times the own transaction was due because the masters failed, by reason (down, timeout, bad_proof, degraded)',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const masterLatency = new Histogram({
    name: 'otsd_master_proof_latency_blocks',
    help: "Blocks from a tip's submission to its master's proof checking out, for proofs in time",
    labelNames: ['master'] as const,
    buckets: [1, 2, 3, 6, 9, 12, 18, 36, 72],
    registers: [registry],
  });
  gauge(
    'otsd_master_delegations_in_flight',
    'Delegations waiting for a master proof',
    (s) => s.collaboration?.delegationsInFlight,
  );
  new Gauge({
    name: 'otsd_master_state',
    help: 'Each master calendar: 1 for its state (ok, down, degraded, cycle), 0 for the others',
    labelNames: ['master', 'state'] as const,
    registers: [registry],
    collect() {
      for (const m of status().collaboration?.masters ?? [])
        for (const state of MASTER_STATES) this.set({ master: m.url, state }, m.state === state ? 1 : 0);
    },
  });
  new Gauge({
    name: 'otsd_master_consecutive_misses',
    help: 'Misses of each master calendar since its last proof in time',
    labelNames: ['master'] as const,
    registers: [registry],
    collect() {
      for (const m of status().collaboration?.masters ?? []) this.set({ master: m.url }, m.consecutiveMisses);
    },
  });
  gauge(
    'otsd_external_offered_tips',
    'Tips offered to donors (external stamping)',
    (s) => s.external?.offeredTips,
  );
  new Gauge({
    name: 'otsd_external_donations',
    help: 'Donations followed, and the last 1000 that ended, by state (mempool, mined, proven, superseded, replaced, conflicted, expired)',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const donations = status().external?.donations;
      if (donations) for (const [state, count] of Object.entries(donations)) this.set({ state }, count);
    },
  });
  gauge(
    'otsd_external_fees_saved_sats',
    'Fees paid by donations whose proof was written since start, in satoshis',
    (s) => s.external?.feesSavedSats,
  );
  return {
    upstreamExchange: (url, outcome, seconds) => upstreamRounds.observe({ upstream: url, outcome }, seconds),
    collaboration: (event) => {
      if (event.kind === 'submission')
        masterSubmissions.inc({ master: event.master, outcome: event.outcome });
      else if (event.kind === 'fallback') masterFallbacks.inc({ reason: event.reason });
      else masterLatency.observe({ master: event.master }, event.blocks);
    },
    registry,
    request: (route, method, status, seconds) =>
      requests.observe({ route, method, status: String(status) }, seconds),
    httpError: (code) => httpErrors.inc({ code }),
    connectionClosed: (reason) => closedConnections.inc({ reason }),
    mirrorRefusal: () => mirrorRefusals.inc(),
    round: (count) => {
      rounds.inc();
      digests.inc(count);
      roundSize.observe(count);
    },
  };
}

/** Serves `GET /metrics` on its own listener. */
export async function serveMetrics(
  metrics: NodeMetrics,
  host: string,
  port: number,
): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer(async (req, res) => {
    if (req.method !== 'GET' || req.url !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found');
      return;
    }
    try {
      const body = await metrics.registry.metrics();
      res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body);
    } catch (e) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${(e as Error).message}`);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return {
    url: `${serverUrl(server)}/metrics`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
