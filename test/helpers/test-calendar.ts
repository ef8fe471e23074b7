/** An in-process calendar (journal, index, aggregator, HTTP app) in a temporary directory. */
import type { TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { Aggregator, type AggregatorOptions } from '../../src/aggregator/aggregator.js';
import { Calendar } from '../../src/calendar/calendar.js';
import { buildCalendarApp, type CalendarAppOptions, type HttpLimits } from '../../src/http/app.js';
import type { HeaderSource } from '../../src/http/headers-route.js';
import { DEFAULT_PREFIX_LIMITS, type PrefixLimits } from '../../src/http/prefix-route.js';
import type { NodeStatus } from '../../src/http/status-route.js';
import { toHex } from '../../src/ots/index.js';
import { captureLogs } from './log-capture.js';
import { tempDir } from './temp-dir.js';

export const TEST_URI = 'http://127.0.0.1:14788';

export interface TestCalendar {
  dataDir: string;
  calendar: Calendar;
  aggregator: Aggregator;
  app: FastifyInstance;
  /** Every log line, parsed. */
  logs: Record<string, unknown>[];
}

export async function startTestCalendar(
  t: TestContext,
  options: {
    aggregator?: Partial<AggregatorOptions>;
    limits?: Partial<HttpLimits>;
    prefixLimits?: Partial<PrefixLimits>;
    /** Block headers for GET /bitcoin/headers, as a node would give them. */
    headers?: HeaderSource;
    dataDir?: string;
  } = {},
): Promise<TestCalendar> {
  const dataDir = options.dataDir ?? tempDir(t);
  const { logger, lines: logs } = captureLogs('debug');
  const calendar = await Calendar.open({ dataDir, uri: TEST_URI, create: true });
  const aggregator = new Aggregator({ sink: calendar, intervalMs: 10, log: logger, ...options.aggregator });
  const app = buildTestApp(calendar, aggregator, {
    logger,
    ...(options.limits && { limits: options.limits }),
    ...(options.prefixLimits && { prefixLimits: options.prefixLimits }),
    ...(options.headers && { headers: options.headers }),
  });
  aggregator.start();
  t.after(async () => {
    await app.close();
    await aggregator.stop();
    await calendar.close();
  });
  return { dataDir, calendar, aggregator, app, logs };
}

/** The HTTP app of `calendar` and `aggregator`, with a status page of what they hold. */
export function buildTestApp(
  calendar: Calendar,
  aggregator: Aggregator,
  options: Omit<CalendarAppOptions, 'calendar' | 'aggregator' | 'status'>,
): FastifyInstance {
  const status = (): NodeStatus => ({
    role: 'calendar',
    version: 'test',
    uptimeSeconds: 1,
    calendar: {
      uri: TEST_URI,
      journal: { records: calendar.journal.head.records, chainHash: toHex(calendar.journal.head.chainHash) },
      pendingCommitments: calendar.index.pendingCount,
      commitments: calendar.index.commitmentCount,
      prefixQueries: { ...DEFAULT_PREFIX_LIMITS, ...options.prefixLimits },
    },
    waitingDigests: aggregator.waiting,
    roundIntervalMs: aggregator.intervalMs,
    lastMinute: { rounds: 0, digests: 0 },
    totals: aggregator.stats,
    warnings: [],
  });
  return buildCalendarApp({ calendar, aggregator, status, ...options });
}
