/**
 * The benchmarks' load generator: raw HTTP over node:net in worker threads (bench/load-worker.ts), so
 * that it offers well over 10,000 requests a second and a row measures the server, not the client.
 * Its own CPU time is part of every result, and so is how late it sent (open loop): a run where the
 * generator fell behind its schedule says so.
 * @module
 */
import { Worker } from 'node:worker_threads';
import type { WorkerJob, WorkerResult } from './load-worker.js';

export interface LoadResult {
  /** Requests sent, and answered (any status). */
  sent: number;
  answered: number;
  /**
   * Answers a second: open loop, over the sending window; closed loop, in the steady state (each
   * connection's answers between its first and its last, load-worker.ts).
   */
  perSecond: number;
  /** 200 answers a second, the same way. */
  okPerSecond: number;
  p50ms: number;
  p90ms: number;
  p99ms: number;
  maxMs: number;
  statuses: Record<string, number>;
  /** Requests without an answer, by why. */
  errors: Record<string, number>;
  /** Open loop: the generator's lateness against its schedule (99th percentile and most), ms. */
  sendLagP99ms: number;
  sendLagMaxMs: number;
  connections: number;
  /** CPU time the generator used, ms. */
  clientCpuMs: number;
}

export interface LoadOptions {
  url: string;
  method: 'GET' | 'POST';
  /** Picked at random for each request; a POST carries a fresh random 32-byte digest. */
  paths: string[];
  durationMs: number;
  /** Longest wait for one answer (default 10 s). */
  timeoutMs?: number;
  /** Threads sharing the load (default 2; this machine's cores). */
  threads?: number;
}

/** `connections` keep-alive connections, each sending its next request when its last is answered. */
export function closedLoop(options: LoadOptions & { connections: number }): Promise<LoadResult> {
  const threads = Math.min(options.threads ?? 2, options.connections);
  return run(options, threads, (i) => ({
    kind: 'closed',
    connections: share(options.connections, threads, i),
  }));
}

/**
 * `rate` requests a second, due on schedule whatever the answers, each on a new connection or (with
 * `keepAlive`) on an idle connection of a pool; latency runs from the time a request was due.
 */
export function openLoop(options: LoadOptions & { rate: number; keepAlive: boolean }): Promise<LoadResult> {
  const threads = options.threads ?? 2;
  return run(options, threads, () => ({
    kind: 'open',
    rate: options.rate / threads,
    keepAlive: options.keepAlive,
  }));
}

/** Counts by name (statuses, errors), added up. */
function summedCounts(counts: Record<string, number>[]): Record<string, number> {
  const total: Record<string, number> = {};
  for (const c of counts) for (const [k, v] of Object.entries(c)) total[k] = (total[k] ?? 0) + v;
  return total;
}

/** Thread `i`'s share of `n` split over `threads`. */
const share = (n: number, threads: number, i: number) => Math.floor(n / threads) + (i < n % threads ? 1 : 0);

async function run(
  options: LoadOptions,
  threads: number,
  mode: (thread: number) => WorkerJob['mode'],
): Promise<LoadResult> {
  const url = new URL(options.url);
  const cpuBefore = process.cpuUsage();
  const results = await Promise.all(
    Array.from({ length: threads }, (_, i) => {
      const job: WorkerJob = {
        host: url.hostname,
        port: Number(url.port),
        method: options.method,
        paths: options.paths,
        durationMs: options.durationMs,
        timeoutMs: options.timeoutMs ?? 10_000,
        mode: mode(i),
      };
      return new Promise<WorkerResult>((resolve, reject) => {
        const worker = new Worker(new URL('./load-worker.js', import.meta.url), { workerData: job });
        worker.once('message', resolve);
        worker.once('error', reject);
        worker.once('exit', (code) => reject(new Error(`load: a worker exited (${code}) without a result`)));
      });
    }),
  );
  const cpu = process.cpuUsage(cpuBefore);
  const latencies = new Float64Array(results.reduce((n, r) => n + r.latencies.length, 0));
  let at = 0;
  for (const r of results) {
    latencies.set(r.latencies, at);
    at += r.latencies.length;
  }
  latencies.sort();
  const pct = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  const statuses = summedCounts(results.map((r) => r.statuses));
  // open loop: rates over the sending window (answers after it count, their requests were sent in
  // it); closed loop: each connection's steady rate (load-worker.ts, steadyPerSecond)
  const windowS = options.durationMs / 1000;
  const closed = mode(0).kind === 'closed';
  const perSecond = closed
    ? results.reduce((total, r) => total + r.steadyPerSecond, 0)
    : latencies.length / windowS;
  const okShare = latencies.length > 0 ? (statuses['200'] ?? 0) / latencies.length : 0;
  return {
    sent: results.reduce((n, r) => n + r.sent, 0),
    answered: latencies.length,
    perSecond,
    okPerSecond: perSecond * okShare,
    p50ms: pct(0.5),
    p90ms: pct(0.9),
    p99ms: pct(0.99),
    maxMs: latencies[latencies.length - 1] ?? NaN,
    statuses,
    errors: summedCounts(results.map((r) => r.errors)),
    sendLagP99ms: Math.max(...results.map((r) => r.sendLagP99ms)),
    sendLagMaxMs: Math.max(...results.map((r) => r.sendLagMaxMs)),
    connections: results.reduce((n, r) => n + r.connections, 0),
    clientCpuMs: (cpu.user + cpu.system) / 1000,
  };
}

/**
 * Runs each of `measures` `times` times, in turn (a, b, a, b...), so that a change in the machine's
 * load falls on every one of them alike; returns, for each, the median of its runs' rates and
 * percentiles, and its counts (requests, answers, statuses, errors) over all of them. A closed-loop
 * row on two shared cores spread by a third between two runs of 4 s; measured in turn, the ratio
 * between the rows is what stays.
 */
export async function alternately(
  measures: (() => Promise<LoadResult>)[],
  times: number,
): Promise<LoadResult[]> {
  const runs: LoadResult[][] = measures.map(() => []);
  for (let time = 0; time < times; time++)
    for (const [i, measure] of measures.entries()) runs[i]?.push(await measure());
  return runs.map((results) => {
    const median = (pick: (r: LoadResult) => number) =>
      results.map(pick).sort((a, b) => a - b)[Math.floor(results.length / 2)] as number;
    const total = (pick: (r: LoadResult) => number) => results.reduce((sum, r) => sum + pick(r), 0);
    return {
      sent: total((r) => r.sent),
      answered: total((r) => r.answered),
      perSecond: median((r) => r.perSecond),
      okPerSecond: median((r) => r.okPerSecond),
      p50ms: median((r) => r.p50ms),
      p90ms: median((r) => r.p90ms),
      p99ms: median((r) => r.p99ms),
      maxMs: Math.max(...results.map((r) => r.maxMs)),
      statuses: summedCounts(results.map((r) => r.statuses)),
      errors: summedCounts(results.map((r) => r.errors)),
      sendLagP99ms: Math.max(...results.map((r) => r.sendLagP99ms)),
      sendLagMaxMs: Math.max(...results.map((r) => r.sendLagMaxMs)),
      connections: total((r) => r.connections),
      clientCpuMs: total((r) => r.clientCpuMs),
    };
  });
}
