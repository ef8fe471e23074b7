/**
 * HTTP throughput and latency of a calendar (`otsd run` in its own process) next to a bare node:http
 * server answering a fixed body on the same machine, measured in the same run, at 1, 16 and 256
 * connections: POST /digest (with the reference's 1 s rounds, and with 10 ms rounds to show the
 * server's own cost) and GET /timestamp of proved commitments. Also the journal's fsync cost.
 *
 * Run: npm run bench:http   (about a minute)
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Calendar } from '../src/calendar/calendar.js';
import { Journal } from '../src/journal/journal.js';
import { RecordKind } from '../src/journal/record.js';
import {
  BitcoinBlockHeaderAttestation,
  MerkleTree,
  OpAppend,
  sha256,
  Timestamp,
  toHex,
} from '../src/ots/index.js';
import { spawnTracked } from '../test/helpers/child-process.js';
import { type LoadResult, load } from './load.js';
import { startOtsd } from './processes.js';

const CONNECTIONS = [1, 16, 256];
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 3000);
const BASELINE = fileURLToPath(new URL('./baseline-server.js', import.meta.url));

function startCalendar(dataDir: string, roundMs: number) {
  return startOtsd([
    '--data-dir',
    dataDir,
    '--uri',
    'http://127.0.0.1:1',
    '--round-interval',
    String(roundMs),
  ]);
}

/** Writes `n` commitments and a proof covering them, so GET /timestamp answers 200. */
async function provedCalendar(dataDir: string, n: number): Promise<string[]> {
  const calendar = await Calendar.open({ dataDir, uri: 'http://127.0.0.1:1', create: true });
  const commitments = Array.from({ length: n }, () => new Uint8Array(randomBytes(32)));
  await Promise.all(commitments.map((c) => calendar.commit(c)));
  const tip = new Timestamp(new MerkleTree(commitments.map((c) => sha256(c))).root);
  tip.ops
    .add(new OpAppend(new Uint8Array(randomBytes(100))))
    .ops.add(new OpAppend(new Uint8Array(randomBytes(60))))
    .attestations.add(new BitcoinBlockHeaderAttestation(800_000));
  await calendar.addProof(
    commitments.map((_, i) => i),
    tip,
  );
  await calendar.close();
  return commitments.map(toHex);
}

async function fsyncCost(
  dir: string,
): Promise<{ sequentialMs: number; concurrent: { records: number; ms: number } }> {
  const journal = await Journal.open({ dir, create: true });
  const payload = new Uint8Array(32);
  const n = 200;
  let t0 = performance.now();
  for (let i = 0; i < n; i++) await journal.append(RecordKind.Commitment, payload);
  const sequentialMs = (performance.now() - t0) / n;
  t0 = performance.now();
  await Promise.all(Array.from({ length: 10_000 }, () => journal.append(RecordKind.Commitment, payload)));
  const concurrent = { records: 10_000, ms: performance.now() - t0 };
  await journal.close();
  return { sequentialMs, concurrent };
}

const fmt = (r: LoadResult) =>
  `${Math.round(r.perSecond).toString().padStart(7)} req/s  p50 ${r.p50ms.toFixed(1).padStart(7)} ms  p99 ${r.p99ms.toFixed(1).padStart(7)} ms`;
const ratio = (ours: LoadResult, base: LoadResult) =>
  `  = ${(ours.perSecond / base.perSecond).toFixed(3)}x baseline throughput, ${(ours.p50ms / base.p50ms).toFixed(1)}x its p50`;

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'otsd-bench-'));
  try {
    const fsync = await fsyncCost(join(work, 'fsync-journal'));
    console.log(`journal append + fsync, one at a time: ${fsync.sequentialMs.toFixed(2)} ms per record`);
    console.log(
      `journal group commit: ${fsync.concurrent.records} concurrent appends in ${fsync.concurrent.ms.toFixed(0)} ms\n`,
    );

    const baseline = spawnTracked(process.execPath, [BASELINE, '150']);
    const baseUrl = `http://127.0.0.1:${(await baseline.waitForOutput(/(\d+)\n/, 'the baseline server'))[1]}`;
    const commitments = await provedCalendar(join(work, 'proved'), 10_000);
    const digest = () => new Uint8Array(randomBytes(32));
    const scenarios: {
      name: string;
      roundMs?: number;
      dataDir: string;
      method: 'GET' | 'POST';
      path: () => string;
      body?: () => Uint8Array;
    }[] = [
      {
        name: 'POST /digest, 1 s rounds',
        roundMs: 1000,
        dataDir: join(work, 'post-1000'),
        method: 'POST',
        path: () => '/digest',
        body: digest,
      },
      {
        name: 'POST /digest, 10 ms rounds',
        roundMs: 10,
        dataDir: join(work, 'post-10'),
        method: 'POST',
        path: () => '/digest',
        body: digest,
      },
      {
        name: 'GET /timestamp (proved, 10k-leaf proof)',
        dataDir: join(work, 'proved'),
        method: 'GET',
        path: () => `/timestamp/${commitments[Math.floor(Math.random() * commitments.length)]}`,
      },
    ];
    for (const s of scenarios) {
      const calendar = await startCalendar(s.dataDir, s.roundMs ?? 1000);
      console.log(s.name);
      for (const connections of CONNECTIONS) {
        const common = {
          method: s.method,
          path: s.path,
          connections,
          durationMs: DURATION_MS,
          ...(s.body && { body: s.body }),
        };
        const base = await load({ url: baseUrl, ...common });
        const ours = await load({ url: calendar.url, ...common });
        const bad = Object.entries(ours.statuses).filter(([status]) => status !== '200');
        console.log(
          `  ${String(connections).padStart(3)} conn  otsd ${fmt(ours)}${bad.length ? `  non-200: ${JSON.stringify(Object.fromEntries(bad))}` : ''}`,
        );
        console.log(`            bare ${fmt(base)}`);
        console.log(`          ${ratio(ours, base)}`);
      }
      await calendar.process.stop();
    }
    await baseline.stop();
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
