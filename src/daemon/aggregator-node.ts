/**
 * A running stand-alone aggregator: rounds whose tips go to upstream calendars, and the HTTP API that
 * takes digests. It keeps nothing on disk: a restart loses only the digests of the round in progress,
 * which were not acknowledged yet.
 * @module
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { RecentActivity } from '../aggregator/activity.js';
import type { Aggregator } from '../aggregator/aggregator.js';
import type { UpstreamSink } from '../aggregator/upstream-sink.js';
import { buildCalendarApp, DEFAULT_HTTP_LIMITS, type HttpLimits } from '../http/app.js';
import type { NodeStatus } from '../http/status-route.js';
import { Lifecycle, listen } from './lifecycle.js';
import { createMetrics, serveMetrics } from './metrics.js';
import { createUpstreamAggregator, type RoundOptions } from './rounds.js';
import { serverUrl } from './server-url.js';
import { VERSION } from './version.js';

export interface AggregatorNodeOptions extends RoundOptions {
  /** Calendars every round's tip is submitted to. */
  upstreams: string[];
  /** Longest wait for one upstream's answer; the round's clients never wait longer than this. */
  upstreamTimeoutMs: number;
  host: string;
  /** 0 lets the OS choose. */
  port: number;
  httpLimits?: Partial<HttpLimits>;
  metrics?: { host: string; port: number };
  logger: Logger;
}

export interface AggregatorNode {
  /** Where the node listens, e.g. http://127.0.0.1:14790 */
  url: string;
  aggregator: Aggregator;
  sink: UpstreamSink;
  metricsUrl: string | undefined;
  app: FastifyInstance;
  /** Stops taking requests, submits every waiting digest upstream and answers it. */
  close(): Promise<void>;
}

export async function startAggregatorNode(options: AggregatorNodeOptions): Promise<AggregatorNode> {
  const log = options.logger;
  const startedAt = Date.now();
  const activity = new RecentActivity();
  const status = (): NodeStatus => ({
    role: 'aggregator',
    version: VERSION,
    uptimeSeconds: Math.floor((Date.now() - startedAt) / 1000),
    waitingDigests: aggregator.waiting,
    roundIntervalMs: aggregator.intervalMs,
    lastMinute: activity.lastMinute(),
    totals: { ...aggregator.stats },
    upstreams: sink.health(),
    warnings: [],
  });
  const metrics = createMetrics(status);
  const { sink, aggregator } = createUpstreamAggregator(
    {
      upstreams: options.upstreams,
      timeoutMs: options.upstreamTimeoutMs,
      userAgent: `otsd/${VERSION} aggregator`,
      onExchange: metrics.upstreamExchange,
    },
    options,
    log,
  );
  aggregator.onRound((digests) => {
    activity.record(digests);
    metrics.round(digests);
  });
  const app = buildCalendarApp({
    aggregator,
    status,
    observe: metrics.request,
    countError: metrics.httpError,
    countClosedConnection: metrics.connectionClosed,
    logger: log,
    ...(options.httpLimits && { limits: options.httpLimits }),
  });
  const life = new Lifecycle(log);
  const metricsServer = await life.start(async () => {
    const http = await listen(life, app, {
      host: options.host,
      port: options.port,
      backlog: options.httpLimits?.listenBacklog ?? DEFAULT_HTTP_LIMITS.listenBacklog,
    });
    const server =
      options.metrics && (await serveMetrics(metrics, options.metrics.host, options.metrics.port));
    if (server) life.onStop('metrics listener', () => server.close());
    aggregator.start();
    life.onStop('aggregator', () => aggregator.stop());
    life.onStop('HTTP intake', http.stopTakingRequests);
    return server;
  });
  const url = serverUrl(app.server);
  log.info({ url, upstreams: options.upstreams }, 'aggregator: listening');
  if (metricsServer) log.info({ url: metricsServer.url }, 'metrics: listening');
  const close = async () => {
    log.info({}, 'aggregator: shutting down');
    await life.stop();
    log.info({ totals: aggregator.stats }, 'aggregator: stopped');
  };
  return { url, aggregator, sink, metricsUrl: metricsServer?.url, app, close };
}
