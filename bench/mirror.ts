/**
 * Initial sync of a mirror from a large journal (a million commitments and their proofs by default),
 * over loopback HTTP, and `reindex` of the copy: records/s and MB/s of each, next to the baseline
 * measured in the same run, under the same load: otsd's own raw journal read rate (every record read
 * from the segment files and its chain hash checked, as reindex and a mirror's check begin), and the
 * ratio to it, in the table of bench/table.ts (with the load average before and after), which
 * `npm run bench` gathers. The upstream is an `otsd run` of its own, as a mirror's upstream is another
 * server (in this process it took the main thread a mirror syncs on, some 10 % of the rate), and the
 * mirror syncs in a process of its own too (bench/mirror-sync.ts), as a mirror runs.
 *
 * Run: npm run bench:mirror   (BENCH_COMMITMENTS=200000 for a quicker run)
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { startCalendarNode } from '../src/daemon/calendar-node.js';
import { openMirror } from '../src/mirror/index.js';
import { BitcoinBlockHeaderAttestation, MerkleTree, OpAppend, sha256, Timestamp } from '../src/ots/index.js';
import { spawnTracked } from '../test/helpers/child-process.js';
import { startOtsd } from './processes.js';
import { type BenchRow, reportRows } from './table.js';

const COMMITMENTS = Number(process.env.BENCH_COMMITMENTS ?? 1_000_000);
const PER_PROOF = 10_000;
const MIRROR_SYNC = fileURLToPath(new URL('./mirror-sync.js', import.meta.url));
/** The longest a sync may take: a million records take some seconds. */
const SYNC_TIMEOUT_MS = 600_000;

const loadBefore = loadavg();
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const work = mkdtempSync(join(tmpdir(), 'otsd-bench-mirror-'));
try {
  const calendarDir = join(work, 'calendar');
  const node = await startCalendarNode({
    dataDir: calendarDir,
    uri: 'http://127.0.0.1:1',
    host: '127.0.0.1',
    port: 0,
    logger: pino({ level: 'silent' }),
  });
  let t0 = performance.now();
  for (let done = 0; done < COMMITMENTS; done += PER_PROOF) {
    const tips = Array.from(
      { length: Math.min(PER_PROOF, COMMITMENTS - done) },
      () => new Uint8Array(randomBytes(32)),
    );
    const first = node.calendar.journal.head.records;
    await Promise.all(tips.map((tip) => node.calendar.commit(tip)));
    const root = new Timestamp(new MerkleTree(tips.map((c) => sha256(c))).root);
    root.ops
      .add(new OpAppend(new Uint8Array(randomBytes(150))))
      .attestations.add(new BitcoinBlockHeaderAttestation(800_000 + done / PER_PROOF));
    await node.calendar.addProof(
      tips.map((_, i) => first + i),
      root,
    );
  }
  const records = node.calendar.journal.head.records;
  const megabytes = node.calendar.journal.storedBytes / 1e6;
  console.log(
    `journal: ${records.toLocaleString('en-US')} records built in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );

  // the baseline: otsd's raw journal read rate, best of three (a neighbour's burst slows one pass)
  let baseline = 0;
  for (let pass = 0; pass < 3; pass++) {
    t0 = performance.now();
    let read = 0;
    for await (const _ of node.calendar.journal.read()) read++;
    baseline = Math.max(baseline, read / ((performance.now() - t0) / 1000));
  }
  const row = (measure: string, goal: number, seconds: number): BenchRow => {
    const rate = records / seconds;
    console.log(
      `${measure}: ${fmt(rate)} records/s, ${(megabytes / seconds).toFixed(1)} MB/s (${seconds.toFixed(1)} s)`,
    );
    return {
      measure,
      otsd: `${fmt(rate)} records/s`,
      baseline: `${fmt(baseline)} records/s raw journal read`,
      ratio: `${(rate / baseline).toFixed(3)}x`,
      goal: `>= ${fmt(goal)} records/s`,
      met: rate >= goal,
    };
  };
  const rows: BenchRow[] = [];

  await node.close();
  const upstream = await startOtsd(['--data-dir', calendarDir, '--uri', 'http://127.0.0.1:1']);
  const mirrorDir = join(work, 'mirror');
  try {
    const sync = spawnTracked(process.execPath, [MIRROR_SYNC, mirrorDir, upstream.url]);
    try {
      const [, synced, seconds] = await sync.waitForOutput(
        /synced (\d+) records in ([\d.]+) s/,
        'the mirror sync',
        SYNC_TIMEOUT_MS,
      );
      // its directory closed before the reindex opens it
      const exit = await sync.exited;
      if (exit !== 0) throw new Error(`the mirror sync exited with ${exit}:\n${sync.output()}`);
      if (Number(synced) !== records) throw new Error(`the mirror synced ${synced} records of ${records}`);
      rows.push(row(`mirror initial sync on loopback, ${fmt(records)} records`, 150_000, Number(seconds)));
    } finally {
      await sync.stop();
    }
  } finally {
    await upstream.process.stop();
  }
  // the bench's proofs are made up: they reach no chain
  const mirror = await openMirror({
    dir: mirrorDir,
    upstream: upstream.url,
    insecureSkipAttestationCheck: true,
  });
  try {
    t0 = performance.now();
    await mirror.calendar.reindex();
    rows.push(
      row(`reindex of the mirror's ${fmt(records)} records`, 200_000, (performance.now() - t0) / 1000),
    );
  } finally {
    await mirror.close();
  }
  reportRows(rows, loadBefore);
} finally {
  rmSync(work, { recursive: true, force: true });
}
