/**
 * Throughput of the proof format code next to python-opentimestamps on the same inputs, in the same
 * run: parse and serialize a real proof (hello-world.txt.ots, 39 ops deep), and build a merkle tree
 * over 10,000 leaves. Python times itself in its own process (no IPC in its numbers).
 *
 * Run: npm run bench
 */

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { DetachedTimestampFile, MerkleTree, makeMerkleTree, Timestamp, toHex } from 'otsd/ots';
import { oracleUnavailable, PythonOracle } from '../test/oracle/python-oracle.js';
import { VECTORS_DIR } from '../test/ots/vectors.js';

const ITERATIONS = 20_000;
const LEAVES = 10_000;

function time(fn: () => void, iterations = 1): number {
  const start = performance.now();
  for (let i = 0; i < iterations; i++) fn();
  return (performance.now() - start) / 1000;
}

const proof = DetachedTimestampFile.fromBytes(readFileSync(`${VECTORS_DIR}/hello-world.txt.ots`)).timestamp;
const msg = proof.msg;
const data = proof.toBytes();
const leaves = Array.from({ length: LEAVES }, () => new Uint8Array(randomBytes(32)));

// warm up the JIT so both sides are measured at steady state
time(() => Timestamp.fromBytes(msg, data), 2000);
time(() => proof.toBytes(), 2000);

const ours = {
  parse_s: time(() => Timestamp.fromBytes(msg, data), ITERATIONS),
  serialize_s: time(() => proof.toBytes(), ITERATIONS),
  merkle_s: time(() => makeMerkleTree(leaves.map((l) => new Timestamp(l)))),
  merkleHashes_s: time(() => new MerkleTree(leaves)),
};

const rows: [string, number, number | undefined][] = [];
const missing = oracleUnavailable();
let theirs:
  | { parse_s: number; serialize_s: number; merkle_s: number; merkle_hashes_s: number; tip: string }
  | undefined;
if (!missing) {
  const oracle = new PythonOracle();
  theirs = (await oracle.call({
    cmd: 'bench',
    msg: toHex(msg),
    data: toHex(data),
    leaves: leaves.map(toHex),
    iterations: ITERATIONS,
  })) as typeof theirs;
  await oracle.close();
  if (theirs && theirs.tip !== toHex(new MerkleTree(leaves).root))
    throw new Error('bench: merkle tips differ');
}

rows.push([
  `parse ${data.byteLength}-byte proof (ops/s)`,
  ITERATIONS / ours.parse_s,
  theirs && ITERATIONS / theirs.parse_s,
]);
rows.push([
  `serialize ${data.byteLength}-byte proof (ops/s)`,
  ITERATIONS / ours.serialize_s,
  theirs && ITERATIONS / theirs.serialize_s,
]);
rows.push([
  `merkle tree, ${LEAVES} leaves as timestamps (leaves/s)`,
  LEAVES / ours.merkle_s,
  theirs && LEAVES / theirs.merkle_s,
]);
rows.push([
  `merkle tree, ${LEAVES} leaves as hashes (leaves/s)`,
  LEAVES / ours.merkleHashes_s,
  theirs && LEAVES / theirs.merkle_hashes_s,
]);

const fmt = (n: number | undefined) => (n === undefined ? '-' : Math.round(n).toLocaleString('en-US'));
console.log(
  `${'benchmark'.padEnd(52)} ${'otsd'.padStart(12)} ${'python-ots'.padStart(12)} ${'ratio'.padStart(7)}`,
);
for (const [name, us, them] of rows) {
  const ratio = them === undefined ? '-' : `${(us / them).toFixed(1)}x`;
  console.log(`${name.padEnd(52)} ${fmt(us).padStart(12)} ${fmt(them).padStart(12)} ${ratio.padStart(7)}`);
}
if (missing) console.log(`(python-opentimestamps not measured: ${missing})`);
