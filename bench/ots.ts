/**
 * Throughput of the proof format code next to python-opentimestamps on the same inputs, in the same
 * run: parse and serialize a real proof (hello-world.txt.ots, 39 ops deep), and build a merkle tree
 * over 10,000 leaves, as Timestamp objects and as bare hashes.
 *
 * The machine may be shared, so the two sides take turns: every round runs each row here, then the
 * same row in Python, which times itself in its own process (no IPC in its numbers) while this one
 * waits. Both sides run WARMUP unrecorded rounds first (the JIT, Python's allocator). A row's ratio
 * is the median of its per-round ratios, with the lowest and highest beside it, so that a
 * neighbour's burst widens the spread rather than moving the figure; the load average is printed too.
 *
 * Run: npm run bench:ots
 */

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { DetachedTimestampFile, MerkleTree, makeMerkleTree, Timestamp, toHex } from 'otsd/ots';
import { oracleUnavailable, PythonOracle } from '../test/oracle/python-oracle.js';
import { VECTORS_DIR } from '../test/ots/vectors.js';
import { type BenchRow, reportRows } from './table.js';

const WARMUP = 3;
const ROUNDS = 9;
const PARSE_ITERATIONS = 2_000;
const SERIALIZE_ITERATIONS = 10_000;
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
  /** What one round does, counted in the row's unit. */
  work: number;
  ours: () => void;
}

const rows: Row[] = [
  {
    // python-opentimestamps computes every message as it parses; a parse here leaves each to be
    // computed when first read, so this row reads them all: the same work on both sides
    name: `parse ${data.length}-byte proof, every message computed (ops/s)`,
    python: 'parse',
    goal: 5,
    work: PARSE_ITERATIONS,
    ours: () => {
      for (let i = 0; i < PARSE_ITERATIONS; i++) messageBytes(Timestamp.fromBytes(msg, data));
    },
  },
  {
    // context: the parse alone, which is what a caller that reads few messages pays
    name: `parse ${data.length}-byte proof, messages left until read (ops/s)`,
    python: 'parse',
    work: PARSE_ITERATIONS,
    ours: () => {
      for (let i = 0; i < PARSE_ITERATIONS; i++) Timestamp.fromBytes(msg, data);
    },
  },
  {
    name: `serialize ${data.length}-byte proof (ops/s)`,
    python: 'serialize',
    goal: 5,
    work: SERIALIZE_ITERATIONS,
    ours: () => {
      for (let i = 0; i < SERIALIZE_ITERATIONS; i++) proof.toBytes();
    },
  },
  {
    name: `merkle tree, ${LEAVES} leaves as timestamps (leaves/s)`,
    python: 'merkle',
    goal: 5,
    work: LEAVES,
    ours: () => makeMerkleTree(leaves.map((l) => new Timestamp(l))),
  },
  {
    name: `merkle tree, ${LEAVES} leaves as hashes (leaves/s)`,
    python: 'merkle_hashes',
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

function timeOurs(row: Row): number {
  const start = performance.now();
  row.ours();
  return (performance.now() - start) / 1000;
}

const missing = oracleUnavailable();
const oracle = missing ? undefined : new PythonOracle();
await oracle?.call({
  cmd: 'bench_setup',
  msg: toHex(msg),
  data: toHex(data),
  leaves: leaves.map(toHex),
  parse_iterations: PARSE_ITERATIONS,
  serialize_iterations: SERIALIZE_ITERATIONS,
});
async function timeTheirs(row: Row): Promise<number | undefined> {
  if (!oracle) return undefined;
  const answer = await oracle.call({ cmd: 'bench_round', row: row.python });
  if (answer.tip !== null && answer.tip !== tip) throw new Error('bench: merkle tips differ');
  return answer.seconds as number;
}

const loadBefore = loadavg();
const seconds = new Map(rows.map((row) => [row, { ours: [] as number[], theirs: [] as number[] }]));
for (let round = 0; round < WARMUP + ROUNDS; round++) {
  for (const row of rows) {
    const ours = timeOurs(row);
    const theirs = await timeTheirs(row);
    if (round < WARMUP) continue;
    const times = seconds.get(row);
    times?.ours.push(ours);
    if (theirs !== undefined) times?.theirs.push(theirs);
  }
}
await oracle?.close();

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

console.log(`${ROUNDS} rounds after ${WARMUP} warm-up rounds; rates are medians, the ratio is the median`);
console.log('of the per-round ratios (lowest-highest)');
reportRows(
  rows.map((row): BenchRow => {
    const { ours, theirs } = seconds.get(row) ?? { ours: [], theirs: [] };
    const ratios = theirs.map((t, i) => t / (ours[i] as number)).sort((a, b) => a - b);
    const ratio = median(ratios);
    return {
      measure: `otsd/ots: ${row.name}`,
      otsd: fmt(row.work / median(ours)),
      baseline: theirs.length ? `${fmt(row.work / median(theirs))} python-opentimestamps` : '-',
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
