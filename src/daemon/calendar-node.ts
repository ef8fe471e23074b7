/**
 * A running calendar node: the calendar (journal + index), the aggregator committing rounds into it,
 * and the HTTP API, started and stopped together.
 * @module
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { RecentActivity } from '../aggregator/activity.js';
import type { Aggregator } from '../aggregator/aggregator.js';
import type { AnchoringCoordinator } from '../anchoring/coordinator.js';
import type { NetworkName } from '../bitcoin/network.js';
import { NodeClient } from '../bitcoin/node-client.js';
import { Calendar } from '../calendar/calendar.js';
import { buildCalendarApp, DEFAULT_HTTP_LIMITS, type HttpLimits } from '../http/app.js';
import type { HeaderSource } from '../http/headers-route.js';
import { DEFAULT_PREFIX_LIMITS, type PrefixLimits } from '../http/prefix-route.js';
import { lockDataDir } from '../journal/data-dir-lock.js';
import type { Mirror, MirrorProgress } from '../mirror/mirror.js';
import { calendarNodeStatus } from './calendar-status.js';
import { Lifecycle, listen } from './lifecycle.js';
import { createMetrics, serveMetrics } from './metrics.js';
import {
  checkMirrorSettings,
  createMirror,
  type MirrorChecks,
  type MirrorHeaders,
  mirrorHeaderSource,
  mirrorHeadersTrust,
  mirrorWarnings,
} from './mirror-role.js';
import { createAggregator, createUpstreamAggregator, type RoundOptions } from './rounds.js';
import { serverUrl } from './server-url.js';
import { type BitcoinOptions, startStampingRole } from './stamping-role.js';
import { VERSION } from './version.js';

/** Said at start and on the status page of a calendar started with no Bitcoin node. */
const NO_BITCOIN_WARNING =
  'no Bitcoin node (neither --bitcoin-rpc nor --embedded-regtest): nothing this calendar accepts will be anchored in Bitcoin';

export interface CalendarNodeOptions extends RoundOptions {
  dataDir: string;
  /** Public URI of this calendar, written into every PendingAttestation. */
  uri: string;
  host: string;
  /** 0 lets the OS choose. */
  port: number;
  httpLimits?: Partial<HttpLimits>;
  /** Reverse proxies whose X-Forwarded-For is believed (the donation intake's limit per client). */
  trustProxy?: readonly string[];
  prefixLimits?: Partial<PrefixLimits>;
  /** Bitcoin stamping; without it the calendar only collects commitments. */
  bitcoin?: BitcoinOptions;
  /** Prometheus /metrics listener (keep it on loopback). */
  metrics?: { host: string; port: number };
  /** Run as a mirror of this calendar instead: follow its journal, take no digests, stamp nothing. */
  mirrorOf?: string;
  /**
   * How a mirror checks Bitcoin attestations: against its node (with bitcoin.rpc, always then),
   * against headers from the upstream linked to the compiled-in checkpoints (the default without a
   * node), or not at all ('insecure-none': for proofs that reach no real chain, as in tests).
   */
  mirrorHeaders?: MirrorHeaders;
  /** The network of a mirror without a node (--bitcoin-network; default main). */
  mirrorNetwork?: NetworkName;
  /**
   * A mirror that aggregates: it takes digests and submits each round's tip to the calendar it mirrors,
   * waiting at most `upstreamTimeoutMs` for its answer.
   */
  mirrorAggregates?: { upstreamTimeoutMs: number };
  /** Told of a mirror's download progress (the CLI draws a bar on a terminal). */
  mirrorProgress?: (progress: MirrorProgress) => void;
  /** Told of the index catching up with the journal at start (the CLI keeps systemd waiting). */
  onCatchUpProgress?: (applied: number, total: number) => void;
  /** Called at most every 10 s while the index's file check at start goes on (the CLI keeps systemd waiting). */
  onIndexCheck?: () => void;
  logger: Logger;
}

export interface CalendarNode {
  /** Where the node listens, e.g. http://127.0.0.1:14788 */
  url: string;
  calendar: Calendar;
  aggregator: Aggregator | undefined;
  /** Getting the calendar's commitments into Bitcoin, when it has a node. */
  anchoring: AnchoringCoordinator | undefined;
  mirror: Mirror | undefined;
  /** Where Prometheus scrapes, when metrics are on. */
  metricsUrl: string | undefined;
  app: FastifyInstance;
  /** Stops taking requests, commits and answers every waiting digest, closes journal and index. */
  close(): Promise<void>;
}

export async function startCalendarNode(options: CalendarNodeOptions): Promise<CalendarNode> {
  const log = options.logger;
  // a mirror with a node checks every Bitcoin attestation it copies against the node's headers
  const mirrorChecks: MirrorChecks | undefined = options.mirrorOf
    ? {
        upstream: options.mirrorOf,
        headers: options.mirrorHeaders ?? 'upstream',
        network: options.bitcoin?.network ?? options.mirrorNetwork ?? 'main',
        node: options.bitcoin?.rpc ? new NodeClient(options.bitcoin.rpc) : undefined,
      }
    : undefined;
  if (mirrorChecks) checkMirrorSettings(mirrorChecks);
  const life = new Lifecycle(log);
  return life.start(async () => {
    life.onStop('data-dir lock', lockDataDir(options.dataDir));
    const calendar = await Calendar.open({
      dataDir: options.dataDir,
      uri: options.uri,
      create: true,
      log,
      onCatchUpProgress: (applied, total) => {
        log.info({ applied, total }, 'index: catching up with the journal');
        options.onCatchUpProgress?.(applied, total);
      },
      ...(options.onIndexCheck && { onIndexCheck: options.onIndexCheck }),
    });
    life.onStop('calendar', () => calendar.close());
    // status() is read when metrics are scraped, once everything has started
    const metrics = createMetrics(
      () => status(),
      () => calendar.index.applied.number,
    );
    const bitcoin =
      options.bitcoin && !options.mirrorOf
        ? await startStampingRole(options.dataDir, options.bitcoin, calendar, log, metrics.collaboration)
        : undefined;
    if (bitcoin) life.onStop('Bitcoin node', () => bitcoin.stop());

    const mirror =
      mirrorChecks &&
      createMirror(mirrorChecks, calendar, {
        log,
        onRefusal: metrics.mirrorRefusal,
        ...(options.mirrorProgress && { onProgress: options.mirrorProgress }),
      });
    // a mirror's rounds go to the calendar it mirrors, whose pending attestation its clients then carry
    const mirrorAggregation =
      options.mirrorOf && options.mirrorAggregates
        ? createUpstreamAggregator(
            {
              upstreams: [options.mirrorOf],
              timeoutMs: options.mirrorAggregates.upstreamTimeoutMs,
              userAgent: `otsd/${VERSION} mirror`,
              onExchange: metrics.upstreamExchange,
            },
            options,
            log,
          )
        : undefined;
    const aggregator = mirror ? mirrorAggregation?.aggregator : createAggregator(calendar, options, log);
    const activity = new RecentActivity();
    aggregator?.onRound((digests) => {
      activity.record(digests);
      metrics.round(digests);
    });
    const warnings = [
      ...(mirror || bitcoin ? [] : [NO_BITCOIN_WARNING]),
      ...(mirrorChecks ? mirrorWarnings(mirrorChecks) : []),
    ];
    for (const warning of warnings) log.warn({}, warning);
    const prefixLimits = { ...DEFAULT_PREFIX_LIMITS, ...options.prefixLimits };
    const status = calendarNodeStatus({
      calendar,
      aggregator,
      activity,
      prefixLimits,
      warnings,
      mirror,
      upstreams: mirrorAggregation?.sink,
      bitcoin,
    });
    // headers for mirrors that have no node: from our node, or a mirror's (see mirror-role.ts)
    const headerSource: HeaderSource | undefined = bitcoin
      ? async (from, count) => ({
          network: bitcoin.network,
          headers: await bitcoin.node.headers(from, count),
        })
      : mirrorChecks && mirrorHeaderSource(mirrorChecks);
    const app = buildCalendarApp({
      calendar,
      ...(aggregator && { aggregator }),
      status,
      prefixLimits,
      ...(headerSource && {
        headers: headerSource,
        headersFrom: mirrorChecks ? mirrorHeadersTrust(mirrorChecks) : 'own node',
      }),
      observe: metrics.request,
      countError: metrics.httpError,
      countClosedConnection: metrics.connectionClosed,
      ...(bitcoin && {
        tip: () => bitcoin.anchoring.currentTip(),
        describePending: (record: number) => bitcoin.anchoring.describePending(record),
        ...(bitcoin.external && { external: bitcoin.external }),
      }),
      logger: log,
      ...(options.httpLimits && { limits: options.httpLimits }),
      ...(options.trustProxy && { trustProxy: options.trustProxy }),
    });
    const http = await listen(life, app, {
      host: options.host,
      port: options.port,
      backlog: options.httpLimits?.listenBacklog ?? DEFAULT_HTTP_LIMITS.listenBacklog,
    });
    const metricsServer =
      options.metrics && (await serveMetrics(metrics, options.metrics.host, options.metrics.port));
    if (metricsServer) life.onStop('metrics listener', () => metricsServer.close());
    if (aggregator) {
      aggregator.start();
      // answers every waiting digest: after intake stops, before the HTTP server's close completes
      life.onStop('aggregator', () => aggregator.stop());
    }
    if (mirror) {
      mirror.start();
      life.onStop('mirror', () => mirror.stop());
    }
    if (bitcoin) {
      // reads the journal only: the chain is followed in the background
      await bitcoin.anchoring.start();
      life.onStop('anchoring', () => bitcoin.anchoring.stop());
    }
    life.onStop('HTTP intake', http.stopTakingRequests);
    // the start checked a sample of the index; the rest is checked while otsd serves
    calendar.startFullIndexCheck(log);
    const url = serverUrl(app.server);
    log.info(
      { url, uri: calendar.uri, dataDir: options.dataDir, records: calendar.journal.head.records },
      'calendar: listening',
    );
    if (metricsServer) log.info({ url: metricsServer.url }, 'metrics: listening');
    const close = async () => {
      log.info({}, 'calendar: shutting down');
      await life.stop();
      log.info({ records: calendar.journal.head.records }, 'calendar: stopped');
    };
    return {
      url,
      metricsUrl: metricsServer?.url,
      calendar,
      aggregator,
      anchoring: bitcoin?.anchoring,
      mirror,
      app,
      close,
    };
  });
}
