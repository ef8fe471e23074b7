import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Journal } from '../../src/journal/journal.js';
import { RecordKind } from '../../src/journal/record.js';
import { PendingAttestation, Timestamp, toHex } from '../../src/ots/index.js';
import { startCalendarProcess } from '../helpers/calendar-process.js';
import { tempDir } from '../helpers/temp-dir.js';
import { runCli } from './run-cli.js';

/** Posts `n` digests; returns the commitment of each answer. */
async function stamp(url: string, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const digest = crypto.getRandomValues(new Uint8Array(32));
    const res = await fetch(`${url}/digest`, { method: 'POST', body: digest });
    const found = Timestamp.fromBytes(digest, new Uint8Array(await res.arrayBuffer())).shortestPathTo(
      (a) => a instanceof PendingAttestation,
    );
    out.push(toHex(found?.msg as Uint8Array));
  }
  return out;
}

const answers = async (url: string, commitments: string[]) =>
  Promise.all(
    commitments.map(async (c) => {
      const res = await fetch(`${url}/timestamp/${c}`);
      return `${res.status} ${toHex(new Uint8Array(await res.arrayBuffer()))}`;
    }),
  );

describe('otsd verify-journal and otsd reindex', () => {
  it('verify a journal, rebuild the index, and the calendar answers exactly as before', async (t) => {
    const dataDir = tempDir(t);
    let calendar = await startCalendarProcess(dataDir, ['--round-interval', '10']);
    const commitments = await stamp(calendar.url, 6);
    const before = await answers(calendar.url, [...commitments, 'ab'.repeat(32)]);
    assert.equal(await calendar.stop('SIGTERM'), 0);

    const verified = runCli(['verify-journal', dataDir]);
    assert.equal(verified.status, 0, verified.stderr);
    assert.match(verified.stdout, /^journal ok: records 6, chain hash [0-9a-f]{64}, 1 segments\n$/);

    rmSync(join(dataDir, 'index'), { recursive: true });
    const reindexed = runCli(['reindex', dataDir]);
    assert.equal(reindexed.status, 0, reindexed.stderr);
    assert.match(reindexed.stderr, /reindex: 6\/6 records/);
    assert.match(reindexed.stdout, /index rebuilt: 6 records applied, 6 commitments pending/);

    calendar = await startCalendarProcess(dataDir);
    assert.deepEqual(await answers(calendar.url, [...commitments, 'ab'.repeat(32)]), before);
    assert.equal(await calendar.stop('SIGINT'), 0);
  });

  it('reindexes a calendar of 40,000 commitments again and again (an index rebuilt from nothing can be cleared)', async (t) => {
    // a compacted copy of a rebuilt index (LMDB's, tried once) crashed LMDB when its DUPFIXED database
    // was cleared by the next reindex, from some 30,000 commitments on
    const dataDir = tempDir(t);
    const journal = await Journal.open({ dir: join(dataDir, 'journal'), create: true });
    await Promise.all(
      Array.from({ length: 40_000 }, () =>
        journal.append(RecordKind.Commitment, crypto.getRandomValues(new Uint8Array(32))),
      ),
    );
    await journal.close();
    for (let run = 0; run < 3; run++) {
      const reindexed = runCli(['reindex', dataDir]);
      assert.equal(reindexed.status, 0, `run ${run}: ${reindexed.stderr}`);
      assert.match(reindexed.stdout, /index rebuilt: 40000 records applied, 40000 commitments pending/);
    }
  });

  it('verify-journal names a damaged record and exits 1', async (t) => {
    const dataDir = tempDir(t);
    const calendar = await startCalendarProcess(dataDir, ['--round-interval', '10']);
    await stamp(calendar.url, 3);
    await calendar.stop();
    const segment = join(dataDir, 'journal', readdirSync(join(dataDir, 'journal'))[0] as string);
    const bytes = readFileSync(segment);
    bytes[64 + 10] = (bytes[64 + 10] as number) ^ 1;
    writeFileSync(segment, bytes);
    const result = runCli(['verify-journal', dataDir]);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /^otsd: journal invalid: .*record 0 at offset 64: chain hash/);
    const start = runCli(['reindex', dataDir]);
    assert.equal(start.status, 1);
    assert.match(start.stderr, /record 0 at offset 64/);
  });

  it('fail with one line on a missing directory', () => {
    const result = runCli(['verify-journal', '/nonexistent/otsd']);
    assert.equal(result.status, 1);
    assert.equal(result.stderr, 'otsd: no such directory: /nonexistent/otsd\n');
  });
});
