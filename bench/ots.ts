/**
 * Throughput of the proof format code next to python-opentimestamps on the same inputs, in the same
 * run: parse and serialize a real proof (hello-world.txt.ots, 39 ops deep), and build a merkle tree
 * over 10,000 leaves, as Timestamp objects and as bare hashes.
 *
 * How it measures, so that a quiet machine gives the same ratio twice and a shared one moves it
 * little:
 * - CPU time, not wall-clock: each side counts the CPU time of its own process around its work
 *   (`process.cpuUsage()` here, every thread, from the start of our slice to the end of Python's so
 *   that the collector's threads, which go on while Python works, are included, less what asking
 *   Python for an empty slice costs this process; `time.process_time()` in Python), so time spent descheduled by a neighbour's job counts on neither side (its use of the
 *   shared caches still slows both, which the interleaving below evens out). Wall-clock rounds on
 *   this 2-core machine spread 1.9-13.6x on the parse row at load average 5-7 from other jobs.
 * - The same work on both sides: a row's slice is the same number of proofs (or trees) here and in
 *   Python, which runs it in its own process (no IPC in its numbers) while this one waits.
 * - Fine interleaving: a round is SLICES slices, each run here then in Python at once, so a burst of
 *   load or a slow stretch of the machine falls on both sides of the round alike (rounds of one side
 *   after the other's, as before, spread 2.6-6.5x on the parse row of two quiet runs). A round's
 *   ratio is Python's CPU time over ours, summed over its slices: 2,000 proofs, 10,000
 *   serializations or 8 trees a side, 9-300 ms of ours and 0.04-1.5 s of Python's, so that our
 *   collector runs in a round as it does in steady use. On the merkle row our collector's work on a
 *   tree (a scavenge that copies it half-built, a later mark-compact) falls mostly in our slices and
 *   counts, and Python frees its slice's trees before its clock stops, so that it counts there too.
 * - WARMUP unrecorded rounds first (the JIT, Python's allocator), then ROUNDS rounds; a row's ratio is
 *   the median of its per-round ratios, with the lowest and highest beside it, and the load average
 *   is printed too.
 *
 * Run: npm run bench:ots
 */

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { DetachedTimestampFile, MerkleTree, makeMerkleTree, Timestamp, toHex } from 'otsd/ots';
import { oracleUnavailable, PythonOracle } from '../test/oracle/python-oracle.js';
import { VECTORS_DIR } from '../test/ots/vectors.js';
import { type BenchRow, reportRows } from './table.js';

const WARMUP = 3;
const ROUNDS = 9;
const SLICES = 8;
const PARSE_PER_SLICE = 250;
const SERIALIZE_PER_SLICE = 1_250;
const LEAVES = 10_000;

const proof = DetachedTimestampFile.fromBytes(readFileSync(`${VECTORS_DIR}/hello-world.txt.ots`)).timestamp;
const msg = proof.msg;
const data = proof.toBytes();
const leaves = Array.from({ length: LEAVES }, () => new Uint8Array(randomBytes(32)));
const tip = toHex(new MerkleTree(leaves).root);

interface Row {
  name: string;
  /** Issue 18's goal, as the least ratio to python-opentimestamps; none for a row shown for context. */
  goal?: number;
  /** The row's name in test/oracle/ots_oracle.py's bench_round. */
  python: string;
  /** How many runs (proofs, trees) make one slice, on each side. */
  perSlice: number;
  /** What one run does, counted in the row's unit. */
  work: number;
  ours: (count: number) => void;
}

const rows: Row[] = [
  {
    // python-opentimestamps computes every message as it parses; a parse here leaves each to be
    // computed when first read, so this row reads them all: the same work on both sides
    name: `parse ${data.length}-byte proof, every message computed (ops/s)`,
    python: 'parse',
    goal: 5,
    perSlice: PARSE_PER_SLICE,
    work: 1,
    ours: (count) => {
      for (let i = 0; i < count; i++) messageBytes(Timestamp.fromBytes(msg, data));
    },
  },
  {
    // context: the parse alone, which is what a caller that reads few messages pays
    name: `parse ${data.length}-byte proof, messages left until read (ops/s)`,
    python: 'parse',
    perSlice: PARSE_PER_SLICE,
    work: 1,
    ours: (count) => {
      for (let i = 0; i < count; i++) Timestamp.fromBytes(msg, data);
    },
  },
  {
    name: `serialize ${data.length}-byte proof (ops/s)`,
    python: 'serialize',
    goal: 5,
    perSlice: SERIALIZE_PER_SLICE,
    work: 1,
    ours: (count) => {
      for (let i = 0; i < count; i++) proof.toBytes();
    },
  },
  {
    name: `merkle tree, ${LEAVES} leaves as timestamps (leaves/s)`,
    python: 'merkle',
    goal: 5,
    perSlice: 1,
    work: LEAVES,
    ours: () => makeMerkleTree(leaves.map((l) => new Timestamp(l))),
  },
  {
    name: `merkle tree, ${LEAVES} leaves as hashes (leaves/s)`,
    python: 'merkle_hashes',
    perSlice: 1,
    work: LEAVES,
    ours: () => new MerkleTree(leaves),
  },
];

/** The length of every message in the tree, which reads (and so computes) each one. */
function messageBytes(node: Timestamp): number {
  let length = node.msg.length;
  for (const [, child] of node.ops) length += messageBytes(child);
  return length;
}

const missing = oracleUnavailable();
const oracle = missing ? undefined : new PythonOracle();
await oracle?.call({ cmd: 'bench_setup', msg: toHex(msg), data: toHex(data), leaves: leaves.map(toHex) });
/** This process's CPU (every thread) since `start`, in seconds. */
const cpuSince = (start: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
};

/** What asking Python for a slice costs this process when the slice is empty: the median of 21. */
async function askingCost(): Promise<number> {
  if (!oracle) return 0;
  const costs: number[] = [];
  for (let i = 0; i < 21; i++) {
    const start = process.cpuUsage();
    await oracle.call({ cmd: 'bench_round', row: 'parse', count: 0 });
    costs.push(cpuSince(start));
  }
  return costs.sort((a, b) => a - b)[10] as number;
}
const asking = await askingCost();

/**
 * One slice of `row` on each side, in seconds of CPU: ours, then Python's. Ours is this process's CPU
 * (every thread) from the start of our slice to the end of Python's, less what asking Python costs
 * it: V8's collector threads go on marking and sweeping what our slice left while Python works, and
 * count on our side so.
 */
async function timeSlice(row: Row): Promise<{ ours: number; theirs: number | undefined }> {
  const start = process.cpuUsage();
  row.ours(row.perSlice);
  let theirs: number | undefined;
  if (oracle) {
    const answer = await oracle.call({ cmd: 'bench_round', row: row.python, count: row.perSlice });
    if (answer.tip !== null && answer.tip !== tip) throw new Error('bench: merkle tips differ');
    theirs = answer.seconds as number;
  }
  return { ours: cpuSince(start) - asking, theirs };
}

const loadBefore = loadavg();
const seconds = new Map(rows.map((row) => [row, { ours: [] as number[], theirs: [] as number[] }]));
for (let round = 0; round < WARMUP + ROUNDS; round++) {
  for (const row of rows) {
    let ours = 0;
    let theirs = 0;
    for (let slice = 0; slice < SLICES; slice++) {
      const time = await timeSlice(row);
      ours += time.ours;
      theirs += time.theirs ?? 0;
    }
    if (round < WARMUP) continue;
    const times = seconds.get(row);
    times?.ours.push(ours);
    if (oracle) times?.theirs.push(theirs);
  }
}
await oracle?.close();

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

console.log(
  `${ROUNDS} rounds of ${SLICES} interleaved slices after ${WARMUP} warm-up rounds, in CPU time; rates`,
);
console.log('are medians, the ratio is the median of the per-round ratios (lowest-highest)');
reportRows(
  rows.map((row): BenchRow => {
    const { ours, theirs } = seconds.get(row) ?? { ours: [], theirs: [] };
    const ratios = theirs.map((t, i) => t / (ours[i] as number)).sort((a, b) => a - b);
    const ratio = median(ratios);
    return {
      measure: `otsd/ots: ${row.name}`,
      otsd: fmt((row.work * row.perSlice * SLICES) / median(ours)),
      baseline: theirs.length
        ? `${fmt((row.work * row.perSlice * SLICES) / median(theirs))} python-opentimestamps`
        : '-',
      ratio: ratios.length
        ? `${ratio.toFixed(1)}x (${ratios[0]?.toFixed(1)}-${ratios[ratios.length - 1]?.toFixed(1)})`
        : '-',
      goal: row.goal ? `>= ${row.goal}x` : '-',
      met: row.goal && ratios.length ? ratio >= row.goal : undefined,
    };
  }),
  loadBefore,
);
if (missing) console.log(`(python-opentimestamps not measured: ${missing})`);
