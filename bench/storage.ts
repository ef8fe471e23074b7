/**
 * Storage on a calendar of a million commitments: disk per pending commitment and per proven one
 * (journal and index apart, in allocated bytes as du counts them), and reindex records/s against
 * otsd's own raw journal read rate (every record read and its chain hash checked, nothing indexed),
 * measured in the same run.
 *
 * Two calendars are built through the journal and index APIs directly: one whose commitments are all
 * pending, one whose commitments are all proven (a proof per PER_PROOF commitments, as a block every
 * ten minutes of one-second rounds gives, each with a tree the size of a Bitcoin proof's). The index
 * takes the records as a calendar's does, each group commit in one transaction (groups of
 * GROUP_RECORDS: a busy calendar's; an idle one writes smaller ones); its size after a reindex (large
 * transactions, as otsd reindex does: pages they rewrote stay in the file as free pages, which the
 * index reuses as it grows) is printed too.
 *
 * Run: npm run bench:storage   (BENCH_COMMITMENTS=200000 for a quicker run)
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CalendarIndex } from '../src/index/calendar-index.js';
import { catchUpIndex } from '../src/index/catch-up.js';
import { Journal } from '../src/journal/journal.js';
import { encodeProofPayload } from '../src/journal/proof-payload.js';
import { RecordKind } from '../src/journal/record.js';
import {
  BitcoinBlockHeaderAttestation,
  MerkleTree,
  OpAppend,
  OpPrepend,
  OpSHA256,
  sha256,
  Timestamp,
} from '../src/ots/index.js';
import { type BenchRow, reportRows } from './table.js';

const COMMITMENTS = Number(process.env.BENCH_COMMITMENTS ?? 1_000_000);
/** Commitments a proof covers: one-second rounds between two blocks. */
const PER_PROOF = 600;
/** Appends in flight at once: the journal writes them in one group commit. */
const GROUP_RECORDS = 256;
/**
 * The reference server's disk per proven commitment, measured once (docs/operating.md, Sizing, says
 * how): the Python server is not run by this bench.
 */
const REFERENCE_PROVEN_BYTES = 2_625;

/** Bytes the files under `path` take on disk (allocated blocks, as du counts them). */
function diskBytes(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.blocks * 512;
  return readdirSync(path).reduce((sum, name) => sum + diskBytes(join(path, name)), 0);
}

/** A tree like a Bitcoin proof's: the transaction around the tip, then a block merkle path of 12 steps. */
function bitcoinLikeTree(tip: Uint8Array, height: number): Timestamp {
  const root = new Timestamp(tip);
  let node = root.ops
    .add(new OpPrepend(new Uint8Array(randomBytes(60))))
    .ops.add(new OpAppend(new Uint8Array(randomBytes(120))))
    .ops.add(new OpSHA256())
    .ops.add(new OpSHA256());
  for (let i = 0; i < 12; i++) {
    const sibling = new Uint8Array(randomBytes(32));
    node = node.ops
      .add(i % 2 === 0 ? new OpAppend(sibling) : new OpPrepend(sibling))
      .ops.add(new OpSHA256())
      .ops.add(new OpSHA256());
  }
  node.attestations.add(new BitcoinBlockHeaderAttestation(height));
  return root;
}

/**
 * A journal of COMMITMENTS commitments, proven PER_PROOF at a time when `proven`, and its index at
 * `indexPath` taking each group commit as a calendar's does.
 */
async function buildCalendar(
  journalDir: string,
  indexPath: string,
  proven: boolean,
): Promise<{ journal: Journal; index: CalendarIndex }> {
  const journal = await Journal.open({ dir: journalDir, create: true });
  const index = CalendarIndex.open(indexPath, journalDir);
  journal.onAppend((records) => index.apply(records));
  let unproven: { number: number; commitment: Uint8Array }[] = [];
  for (let done = 0; done < COMMITMENTS; done += GROUP_RECORDS) {
    const commitments = Array.from(
      { length: Math.min(GROUP_RECORDS, COMMITMENTS - done) },
      () => new Uint8Array(randomBytes(32)),
    );
    const records = await Promise.all(commitments.map((c) => journal.append(RecordKind.Commitment, c)));
    if (!proven) continue;
    unproven.push(...records.map((r, i) => ({ number: r.number, commitment: commitments[i] as Uint8Array })));
    while (unproven.length >= PER_PROOF || (unproven.length > 0 && done + GROUP_RECORDS >= COMMITMENTS)) {
      const covered = unproven.slice(0, PER_PROOF);
      unproven = unproven.slice(PER_PROOF);
      const tip = new MerkleTree(covered.map((c) => sha256(c.commitment))).root;
      await journal.append(
        RecordKind.Proof,
        encodeProofPayload({
          commitments: covered.map((c) => c.number),
          tip: bitcoinLikeTree(tip, 800_000 + journal.head.records),
        }),
      );
    }
  }
  return { journal, index };
}

/** Records/s of reading the whole journal, chain hashes checked, nothing indexed. */
async function rawReadRate(journal: Journal): Promise<number> {
  const t0 = performance.now();
  let records = 0;
  for await (const _ of journal.read(0)) records++;
  return records / ((performance.now() - t0) / 1000);
}

/** Builds the index again from nothing, as otsd reindex does: the records/s. */
async function reindex(journal: Journal, index: CalendarIndex): Promise<number> {
  index.clear({ forgetAcknowledged: true });
  const t0 = performance.now();
  await catchUpIndex(index, journal);
  return journal.head.records / ((performance.now() - t0) / 1000);
}

const perCommitment = (bytes: number) => (bytes / COMMITMENTS).toFixed(1);
const rate = (n: number) => `${Math.round(n).toLocaleString('en-US')} records/s`;

const work = mkdtempSync(join(tmpdir(), 'otsd-bench-storage-'));
const loadBefore = loadavg();
const rows: BenchRow[] = [];
try {
  console.log(`storage, ${COMMITMENTS.toLocaleString('en-US')} commitments`);
  for (const proven of [false, true]) {
    const dir = join(work, proven ? 'proven' : 'pending');
    const t0 = performance.now();
    const { journal, index } = await buildCalendar(join(dir, 'journal'), join(dir, 'index'), proven);
    const built = (performance.now() - t0) / 1000;
    const journalBytes = diskBytes(join(dir, 'journal'));
    const indexBytes = diskBytes(join(dir, 'index'));
    const raw = await rawReadRate(journal);
    const rebuilt = await reindex(journal, index);
    await index.close();
    const reindexedBytes = diskBytes(join(dir, 'index'));
    await journal.close();
    const what = proven ? 'proven' : 'pending';
    console.log(
      `${what}: ${journal.head.records.toLocaleString('en-US')} records (built in ${built.toFixed(1)} s, group commits of ${GROUP_RECORDS})`,
    );
    const perEach = (journalBytes + indexBytes) / COMMITMENTS;
    rows.push({
      measure: `disk per ${what} commitment, journal + index (index after a reindex)`,
      otsd: `${perCommitment(journalBytes + indexBytes)} B (${perCommitment(journalBytes)} + ${perCommitment(indexBytes)}; ${perCommitment(reindexedBytes)})`,
      baseline: proven ? `${REFERENCE_PROVEN_BYTES} B the reference` : '-',
      ratio: proven ? `${(perEach / REFERENCE_PROVEN_BYTES).toFixed(3)}` : '-',
      goal: proven ? `<= 0.25 of the reference` : '<= 100 B',
      met: proven ? perEach <= REFERENCE_PROVEN_BYTES / 4 : perEach <= 100,
    });
    rows.push({
      measure: `reindex, ${what} calendar`,
      otsd: rate(rebuilt),
      baseline: `${rate(raw)} raw journal read`,
      ratio: (rebuilt / raw).toFixed(3),
      goal: '>= 200,000 records/s',
      met: rebuilt >= 200_000,
    });
  }
  reportRows(rows, loadBefore);
} finally {
  rmSync(work, { recursive: true, force: true });
}
