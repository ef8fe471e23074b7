/**
 * A running calendar node: the calendar (journal + index), the aggregator committing rounds into it,
 * and the HTTP API, started and stopped together.
 * @module
 */
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { RecentActivity } from '../aggregator/activity.js';
import { Aggregator } from '../aggregator/aggregator.js';
import { Calendar } from '../calendar/calendar.js';
import { buildCalendarApp, type HttpLimits } from '../http/app.js';
import type { NodeStatus } from '../http/status-route.js';
import { toHex } from '../ots/index.js';
import { VERSION } from './version.js';

export interface CalendarNodeOptions {
  dataDir: string;
  /** Public URI of this calendar, written into every PendingAttestation. */
  uri: string;
  host: string;
  /** 0 lets the OS choose. */
  port: number;
  roundIntervalMs?: number;
  maxDigestsPerRound?: number;
  maxWaitingDigests?: number;
  httpLimits?: Partial<HttpLimits>;
  logger: Logger;
}

export interface CalendarNode {
  /** Where the node listens, e.g. http://127.0.0.1:14788 */
  url: string;
  calendar: Calendar;
  aggregator: Aggregator;
  app: FastifyInstance;
  /** Stops taking requests, commits and answers every waiting digest, closes journal and index. */
  close(): Promise<void>;
}

export async function startCalendarNode(options: CalendarNodeOptions): Promise<CalendarNode> {
  const log = options.logger;
  const calendar = await Calendar.open({
    dataDir: options.dataDir,
    uri: options.uri,
    create: true,
    log,
    onCatchUpProgress: (applied, total) =>
      log.info({ applied, total }, 'index: catching up with the journal'),
  });
  const aggregator = new Aggregator({
    sink: calendar,
    log,
    ...(options.roundIntervalMs !== undefined && { intervalMs: options.roundIntervalMs }),
    ...(options.maxDigestsPerRound !== undefined && { maxDigestsPerRound: options.maxDigestsPerRound }),
    ...(options.maxWaitingDigests !== undefined && { maxWaiting: options.maxWaitingDigests }),
  });
  const activity = new RecentActivity();
  aggregator.onRound((digests) => activity.record(digests));
  const startedAt = Date.now();
  const status = (): NodeStatus => ({
    version: VERSION,
    uri: calendar.uri,
    uptimeSeconds: Math.floor((Date.now() - startedAt) / 1000),
    journal: { records: calendar.journal.head.records, chainHash: toHex(calendar.journal.head.chainHash) },
    pendingCommitments: calendar.index.pendingCount,
    waitingDigests: aggregator.waiting,
    roundIntervalMs: aggregator.intervalMs,
    lastMinute: activity.lastMinute(),
    totals: { ...aggregator.stats },
  });
  const app = buildCalendarApp({
    calendar,
    aggregator,
    status,
    logger: log,
    ...(options.httpLimits && { limits: options.httpLimits }),
  });
  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (e) {
    await calendar.close();
    throw e;
  }
  aggregator.start();
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  log.info(
    { url, uri: calendar.uri, dataDir: options.dataDir, records: calendar.journal.head.records },
    'calendar: listening',
  );

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      log.info({}, 'calendar: shutting down');
      const httpClosed = app.close();
      await aggregator.stop();
      await httpClosed;
      await calendar.close();
      log.info({ records: calendar.journal.head.records }, 'calendar: stopped');
    })();
    return closing;
  };
  return { url, calendar, aggregator, app, close };
}
