/**
 * docs/operating.md's restore path: the journal's segment files put back from an older backup while
 * the index still describes the newer history. otsd refuses to start (the index had applied records
 * the backup lacks, which clients may hold proofs of) until `otsd reindex --accept-loss`; the index is
 * then rebuilt whole, so every route answers from the restored journal and the stamper resumes nothing
 * it no longer has.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { cpSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CHUNK_RECORDS, parseChunk } from '../../src/journal/chunk.js';
import { GENESIS_CHAIN_HASH } from '../../src/journal/record.js';
import { toHex } from '../../src/ots/index.js';
import { decodePrefixAnswer } from '../../src/remote/prefix-answer.js';
import { runCliAsync } from '../cli/run-cli.js';
import { proveCommitments, proveRecords, startTestNode } from '../helpers/calendar-node.js';
import { FAST_EMBEDDED_REGTEST, startCalendarProcess } from '../helpers/calendar-process.js';
import { indexContents, indexDifference } from '../helpers/index-contents.js';
import { embeddedBcoinMissing, requireTools } from '../helpers/require-tools.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';

const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);

/** Every file of a directory, by name. */
const snapshot = (dir: string) =>
  new Map(readdirSync(dir).map((name) => [name, readFileSync(join(dir, name))] as const));

/** Status and body of GET /timestamp/<hex> for each commitment. */
const answers = (url: string, commitments: Uint8Array[]) =>
  Promise.all(
    commitments.map(async (c) => {
      const res = await fetch(`${url}/timestamp/${toHex(c)}`);
      const body = Buffer.from(await res.arrayBuffer());
      return `${res.status} ${res.status === 200 ? body.toString('hex') : body.toString('utf8')}`;
    }),
  );

/** GET / as JSON: the status counts. */
const getStatus = async (url: string) =>
  (await fetch(url, { headers: { accept: 'application/json' } })).json() as Promise<{
    commitments: number;
    pending_commitments: number;
    journal: { records: number };
  }>;

const journalHead = async (url: string) =>
  (await fetch(`${url}/journal/head`)).json() as Promise<{ records: number; chain_hash: string }>;

/** The commitments of GET /timestamps?prefix= for `commitment`'s first two bytes. */
async function underPrefixOf(url: string, commitment: Uint8Array): Promise<string[]> {
  const res = await fetch(`${url}/timestamps?prefix=${toHex(commitment.subarray(0, 2))}`);
  assert.equal(res.status, 200);
  return decodePrefixAnswer(new Uint8Array(await res.arrayBuffer())).map((e) => toHex(e.commitment));
}

describe('restoring an older journal under a newer index', () => {
  it('refuses to start, then after reindex --accept-loss rebuilds the index whole: every route and the stamper follow the restored journal', async (t) => {
    if (!requireTools(t, embeddedBcoinMissing())) return;
    const dataDir = tempDir(t);
    const journalDir = join(dataDir, 'journal');

    // the history the backup holds: 40 commitments, the first 20 proved
    const node = await startTestNode(t, { dataDir });
    const kept = range(0, 40).map(() => new Uint8Array(randomBytes(32)));
    for (const c of kept) await node.calendar.commit(c);
    await proveRecords(node, range(0, 20));
    const keptAnswers = await answers(node.url, kept);
    await node.close();
    const backup = snapshot(journalDir);
    const backupRecords = kept.length + 1;

    // the history the restore loses: past chunk 1 in small records, and a proof...
    const lostNode = await startTestNode(t, { dataDir });
    const lost = range(0, CHUNK_RECORDS + 40).map((i) => new Uint8Array([i >> 8, i & 0xff]));
    for (const c of lost) await lostNode.calendar.commit(c);
    await proveCommitments(lostNode, lost.slice(0, 100));
    const staleChunk1 = lostNode.calendar.index.chunkStart(1);
    assert.ok(staleChunk1);
    await lostNode.close();
    // ...then, on the embedded regtest chain, a stamping transaction in flight (no block confirms it),
    // numbered past any record the restored journal will reach in this test
    const stampingNode = await startTestNode(t, {
      dataDir,
      bitcoin: {
        network: 'regtest',
        embedded: { blockIntervalMs: 3_600_000 },
        minConfirmations: 1,
        stampIntervalMs: 100,
        pollMs: 100,
      },
    });
    await waitFor('a stamping transaction in flight', () =>
      stampingNode.calendar.index.openStamps().length > 0 ? true : undefined,
    );
    assert.notEqual(stampingNode.calendar.index.lastStampHeight(), undefined);
    await stampingNode.close();

    // the operator's restore: the backup's segment files back in journal/, the index left as it is
    for (const name of readdirSync(journalDir)) rmSync(join(journalDir, name));
    for (const [name, bytes] of backup) writeFileSync(join(journalDir, name), bytes);

    // never cleared silently: the index had applied records the backup lacks
    await assert.rejects(
      startCalendarProcess(dataDir, FAST_EMBEDDED_REGTEST),
      new RegExp(
        `records ${backupRecords}\\.\\.\\d+ are missing: .*Refusing to start\\. Restore the journal's segment files .*otsd reindex --accept-loss ${dataDir}`,
      ),
    );
    const accepted = await runCliAsync(['reindex', '--accept-loss', dataDir]);
    assert.equal(accepted.status, 0, accepted.stderr);
    assert.match(
      accepted.stdout,
      new RegExp(`accepted the loss of \\d+ records the index had applied \\(${backupRecords} to `),
    );

    // rounds of 10 ms (the later flag wins): the journal regrows quickly below
    const calendar = await startCalendarProcess(dataDir, [
      ...FAST_EMBEDDED_REGTEST,
      '--round-interval',
      '10',
    ]);
    t.after(() => calendar.stop());
    const url = calendar.url;

    const status = await getStatus(url);
    assert.equal(status.commitments, kept.length);
    assert.ok(status.journal.records >= backupRecords && status.journal.records < CHUNK_RECORDS);
    let stillPending = 0;
    for (const [i, answer] of (await answers(url, kept)).entries()) {
      if (i < 20) assert.equal(answer, keptAnswers[i], `kept commitment ${i}`);
      else assert.match(answer, /^(404 Pending confirmation in Bitcoin blockchain|200 [0-9a-f]+)$/);
      if (answer.startsWith('404 ')) stillPending++;
    }
    // the last 20 kept are pending but for those the embedded stamper (its first stamp 0.5-1.5 s after
    // start) proved since: the status, read before the answers, counts no fewer than they show
    assert.ok(
      status.pending_commitments <= 20 && status.pending_commitments >= stillPending,
      `pending ${status.pending_commitments}, answered pending ${stillPending}`,
    );
    for (const answer of await answers(url, lost.slice(0, 5))) assert.equal(answer, '404 Not found');
    assert.ok((await underPrefixOf(url, kept[0] as Uint8Array)).includes(toHex(kept[0] as Uint8Array)));
    assert.ok(!(await underPrefixOf(url, lost[1] as Uint8Array)).includes(toHex(lost[1] as Uint8Array)));

    // the journal grows again, in bytes past where the lost history's chunk 1 began, not in records
    const segment = join(journalDir, [...backup.keys()].sort().at(-1) as string);
    let posted = 0;
    while (statSync(segment).size <= staleChunk1.offset + 200) {
      const res = await fetch(`${url}/digest`, { method: 'POST', body: randomBytes(32) });
      assert.equal(res.status, 200);
      posted++;
    }
    const before = await journalHead(url);
    const chunk = await fetch(`${url}/journal/chunk/0`);
    assert.equal(chunk.status, 200);
    const records = parseChunk(new Uint8Array(await chunk.arrayBuffer()), 0, GENESIS_CHAIN_HASH);
    const after = await journalHead(url);
    assert.ok(after.records < CHUNK_RECORDS, `${after.records} records: the test meant to stay in chunk 0`);
    assert.ok(records.length >= before.records && records.length <= after.records);
    assert.equal(toHex(records[before.records - 1]?.chainHash as Uint8Array), before.chain_hash);
    assert.equal((await fetch(`${url}/journal/chunk/1`)).status, 404);

    // the stamper anchors what the restored journal has pending, from a clean start
    await waitFor(
      'Bitcoin proofs of the kept pending commitments',
      async () => ((await answers(url, kept)).every((a) => a.startsWith('200 ')) ? true : undefined),
      120_000,
      () => calendar.output(),
    );
    assert.equal((await getStatus(url)).commitments, kept.length + posted);
    assert.equal(await calendar.stop('SIGTERM'), 0);

    // what the calendar built, record by record, equals an index built from the journal alone
    const copy = tempDir(t);
    cpSync(journalDir, join(copy, 'journal'), { recursive: true });
    const reindex = await runCliAsync(['reindex', copy]);
    assert.equal(reindex.status, 0, reindex.stderr);
    // entry for entry, but for the chain follower's saved scan: it comes from the chain, not the journal
    const difference = indexDifference(
      await indexContents(join(dataDir, 'index')),
      await indexContents(join(copy, 'index')),
      ['chain-scan'],
    );
    assert.equal(difference, undefined);
  });
});
