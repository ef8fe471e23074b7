/**
 * Digests through stand-alone aggregators into one calendar (each `otsd run` in its own process):
 * the clients' throughput straight to the calendar, then through 1 and 2 aggregators, measured in the
 * same run at the same round interval, by the same clients and against the same calendar; and the calendar's own request rate, which through aggregators
 * stays at about one POST /digest (plus one GET /timestamp, the answer check) per aggregator round,
 * whatever the client load.
 *
 * Run: npm run bench:aggregator   (about a minute)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../test/helpers/free-port.js';
import { closedLoop, type LoadResult } from './load.js';
import { startOtsd } from './processes.js';

const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 4000);
const ROUND_MS = 100;
const CONNECTIONS = [16, 256];
/** Client loops (threads) in every row, whatever the number of targets: the same clients each way. */
const CLIENT_LOOPS = 2;

type Counts = { posts: number; gets: number };

/** POST /digest and GET /timestamp requests the calendar has answered, from its Prometheus metrics. */
async function calendarRequests(metricsUrl: string): Promise<Counts> {
  const text = await (await fetch(metricsUrl)).text();
  const sum = (route: string, method: string) =>
    text
      .split('\n')
      .filter(
        (line) =>
          line.startsWith('otsd_http_request_duration_seconds_count{') &&
          line.includes(`route="${route}"`) &&
          line.includes(`method="${method}"`),
      )
      .reduce((total, line) => total + Number(line.split(' ').at(-1)), 0);
  return { posts: sum('/digest', 'POST'), gets: sum('/timestamp/:hex', 'GET') };
}

async function rounds(url: string): Promise<number> {
  const status = (await (await fetch(url, { headers: { accept: 'application/json' } })).json()) as {
    totals: { rounds: number };
  };
  return status.totals.rounds;
}

/**
 * The same clients in every row: CLIENT_LOOPS closed loops of connections / CLIENT_LOOPS each, one
 * thread each, loop i aimed at targets[i % targets.length], for DURATION_MS. Answers a second over
 * all loops, the worst p50 and p99.
 */
async function loadOver(
  targets: string[],
  connections: number,
): Promise<Pick<LoadResult, 'perSecond' | 'p50ms' | 'p99ms' | 'statuses'>> {
  const results = await Promise.all(
    Array.from({ length: CLIENT_LOOPS }, (_, i) =>
      closedLoop({
        url: targets[i % targets.length] as string,
        method: 'POST',
        paths: ['/digest'],
        connections: connections / CLIENT_LOOPS,
        durationMs: DURATION_MS,
        threads: 1,
      }),
    ),
  );
  const statuses: Record<string, number> = {};
  for (const r of results)
    for (const [s, n] of Object.entries(r.statuses)) statuses[s] = (statuses[s] ?? 0) + n;
  return {
    perSecond: results.reduce((t, r) => t + r.perSecond, 0),
    p50ms: Math.max(...results.map((r) => r.p50ms)),
    p99ms: Math.max(...results.map((r) => r.p99ms)),
    statuses,
  };
}

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'otsd-bench-aggregator-'));
  const metricsPort = await freePort();
  const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  const calendar = await startOtsd([
    '--data-dir',
    join(work, 'calendar'),
    '--uri',
    'http://127.0.0.1:1',
    '--round-interval',
    String(ROUND_MS),
    '--metrics-listen',
    `127.0.0.1:${metricsPort}`,
  ]);
  const aggregators = await Promise.all(
    [1, 2].map(() =>
      startOtsd(['--role', 'aggregator', '--upstream', calendar.url, '--round-interval', String(ROUND_MS)]),
    ),
  );
  try {
    console.log(
      `digests into one calendar, ${ROUND_MS} ms rounds everywhere, ${DURATION_MS / 1000} s per measurement, the same ${CLIENT_LOOPS} client loops in every row; load average ${load()}`,
    );
    for (const connections of CONNECTIONS) {
      console.log(`${connections} client connections`);
      let direct: Awaited<ReturnType<typeof loadOver>> | undefined;
      for (const through of [0, 1, 2]) {
        const targets = through === 0 ? [calendar.url] : aggregators.slice(0, through).map((a) => a.url);
        const before = await calendarRequests(metricsUrl);
        const roundsBefore = await Promise.all(targets.map(rounds));
        const result = await loadOver(targets, connections);
        const after = await calendarRequests(metricsUrl);
        const roundsAfter = await Promise.all(targets.map(rounds));
        const seconds = DURATION_MS / 1000;
        const posts = (after.posts - before.posts) / seconds;
        const gets = (after.gets - before.gets) / seconds;
        const bad = Object.entries(result.statuses).filter(([s]) => s !== '200');
        const name = through === 0 ? 'straight to the calendar' : `through ${through} aggregator(s)`;
        console.log(
          `  ${name.padEnd(26)} ${Math.round(result.perSecond).toString().padStart(6)} digests/s  p50 ${result.p50ms.toFixed(0).padStart(4)} ms  p99 ${result.p99ms.toFixed(0).padStart(4)} ms${bad.length ? `  non-200: ${JSON.stringify(Object.fromEntries(bad))}` : ''}`,
        );
        if (through === 0) {
          direct = result;
          console.log(`    calendar requests: ${posts.toFixed(0)} POST/s (one per digest)`);
          continue;
        }
        const aggregatorRounds = roundsAfter.reduce((t, r, i) => t + r - (roundsBefore[i] as number), 0);
        const perRound = (n: number) => (n / Math.max(1, aggregatorRounds)).toFixed(2);
        console.log(
          `    = ${(result.perSecond / (direct as { perSecond: number }).perSecond).toFixed(2)}x the direct throughput; calendar requests: ${posts.toFixed(1)} POST/s + ${gets.toFixed(1)} GET/s = ${perRound(after.posts - before.posts)} POST + ${perRound(after.gets - before.gets)} GET per aggregator round (${aggregatorRounds} rounds)`,
        );
      }
    }
    console.log(`load average after: ${load()}`);
  } finally {
    await Promise.all(aggregators.map((a) => a.process.stop()));
    await calendar.process.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
