/**
 * Records the index has applied may have been acknowledged: a calendar refuses to start without any of
 * them (a journal cut short, on a record boundary or not, a last segment cut to its header or removed),
 * naming what is missing and how to recover, until `otsd reindex --accept-loss`. The position survives
 * what clears or rebuilds the index (an index of another format version, a reindex that died), so
 * damage in an acknowledged record is refused then too, never cut off.
 */
import assert from 'node:assert/strict';
import { cpSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { open } from 'lmdb';
import { Calendar } from '../../src/calendar/calendar.js';
import { CalendarIndex } from '../../src/index/calendar-index.js';
import { JournalCorruptError } from '../../src/journal/journal.js';
import { SEGMENT_HEADER_BYTES } from '../../src/journal/segment.js';
import { sha256 } from '../../src/ots/index.js';
import { runCli } from '../cli/run-cli.js';
import { memoryLog, tempDir } from '../helpers/temp-dir.js';

const URI = 'http://127.0.0.1:14788';
/** A commitment record of 32 bytes: 4 + 1 + 32 + 32. */
const RECORD_BYTES = 69;

/** A calendar of `records` acknowledged commitment records in segments of at most `segmentBytes`. */
async function acknowledged(dataDir: string, records: number, segmentBytes?: number): Promise<void> {
  const calendar = await Calendar.open({
    dataDir,
    uri: URI,
    create: true,
    ...(segmentBytes && { maxSegmentBytes: segmentBytes }),
  });
  for (let i = 0; i < records; i++) await calendar.commit(sha256(new Uint8Array([i >> 8, i])));
  await calendar.close();
}

const segments = (dataDir: string) =>
  readdirSync(join(dataDir, 'journal'))
    .filter((n) => n.endsWith('.seg'))
    .sort()
    .map((n) => join(dataDir, 'journal', n));

const refusal = (pattern: RegExp) => (e: unknown) =>
  e instanceof JournalCorruptError && pattern.test(e.message);

const open50 = (dataDir: string, log = memoryLog()) => Calendar.open({ dataDir, uri: URI, log });

/** Flips a byte in the payload of record `n` of a single-segment journal of commitment records. */
function flipRecord(dataDir: string, n: number): void {
  const [segment] = segments(dataDir);
  const bytes = readFileSync(segment as string);
  const at = SEGMENT_HEADER_BYTES + RECORD_BYTES * n + 20;
  bytes[at] = (bytes[at] as number) ^ 0xff;
  writeFileSync(segment as string, bytes);
}

describe('the acknowledged position', () => {
  it('refuses a journal cut short, inside a record or on a boundary, naming the records missing and how to recover', async (t) => {
    for (const cut of [RECORD_BYTES * 12 + 30, RECORD_BYTES * 40]) {
      const dataDir = tempDir(t);
      await acknowledged(dataDir, 50);
      truncateSync(segments(dataDir)[0] as string, SEGMENT_HEADER_BYTES + cut);
      const kept = Math.floor(cut / RECORD_BYTES);
      await assert.rejects(
        open50(dataDir),
        refusal(
          new RegExp(
            `records ${kept}\\.\\.49 are missing: .*ends (at|inside) record ${kept} .*the index has applied 50 records.*Refusing to start\\. Restore the journal's segment files from a backup or a mirror.*otsd reindex --accept-loss ${dataDir}`,
          ),
        ),
      );
      // as before the refusal: nothing cut, nothing rebuilt
      assert.equal(readFileSync(segments(dataDir)[0] as string).byteLength, SEGMENT_HEADER_BYTES + cut);
      const reindex = runCli(['reindex', dataDir]);
      assert.equal(reindex.status, 1);
      assert.match(reindex.stderr, /are missing/);

      const accepted = runCli(['reindex', '--accept-loss', dataDir]);
      assert.equal(accepted.status, 0, accepted.stderr);
      assert.match(accepted.stdout, new RegExp(`accepted the loss of ${50 - kept} records`));
      const calendar = await open50(dataDir);
      assert.equal(calendar.journal.head.records, kept);
      assert.equal(calendar.index.commitmentCount, kept);
      await calendar.commit(sha256(new Uint8Array([1, 2, 3])));
      await calendar.close();
    }
  });

  it('refuses a last segment cut to its header or below, or removed, instead of taking it for a torn new one', async (t) => {
    for (const damage of ['header only', 'torn header', 'removed'] as const) {
      const dataDir = tempDir(t);
      await acknowledged(dataDir, 40, 1000);
      const files = segments(dataDir);
      const last = files.at(-1) as string;
      const first = Number(last.slice(-24, -4));
      assert.ok(files.length > 2 && first > 0 && first < 40);
      if (damage === 'header only') truncateSync(last, SEGMENT_HEADER_BYTES);
      else if (damage === 'torn header') truncateSync(last, 10);
      else rmSync(last);
      await assert.rejects(
        open50(dataDir),
        refusal(new RegExp(`records ${first}\\.\\.39 are missing`)),
        damage,
      );
      assert.equal(segments(dataDir).length, damage === 'removed' ? files.length - 1 : files.length);
    }
  });

  it('refuses a journal without its first segment, naming the records missing; only restoring it helps', async (t) => {
    const dataDir = tempDir(t);
    await acknowledged(dataDir, 40, 1000);
    const files = segments(dataDir);
    const [removed, next] = files as [string, string];
    const to = Number(next.slice(-24, -4)) - 1;
    const saved = readFileSync(removed);
    rmSync(removed);
    const missing = refusal(
      new RegExp(
        `records 0\\.\\.${to} are missing: .*Refusing to start\\. Restore the missing segment files from a backup or a mirror`,
      ),
    );
    await assert.rejects(open50(dataDir), missing);
    const reindex = runCli(['reindex', '--accept-loss', dataDir]);
    assert.equal(reindex.status, 1);
    assert.match(reindex.stderr, new RegExp(`records 0\\.\\.${to} are missing`));
    writeFileSync(removed, saved);
    const calendar = await open50(dataDir);
    assert.equal(calendar.journal.head.records, 40);
    await calendar.close();
  });

  it('refuses a journal without a middle segment; reindex --accept-loss sets the later ones aside, saying how many records that loses', async (t) => {
    const dataDir = tempDir(t);
    await acknowledged(dataDir, 40, 1000);
    const files = segments(dataDir);
    assert.ok(files.length > 2);
    const [, removed, next] = files as [string, string, string];
    const from = Number(removed.slice(-24, -4));
    const to = Number(next.slice(-24, -4)) - 1;
    rmSync(removed);
    await assert.rejects(
      open50(dataDir),
      refusal(
        new RegExp(
          `records ${from}\\.\\.${to} are missing: .*Refusing to start\\. Restore the missing segment files .*to go on without them and every record after them, run otsd reindex --accept-loss ${dataDir}`,
        ),
      ),
    );
    const reindex = runCli(['reindex', '--accept-loss', dataDir]);
    assert.equal(reindex.status, 0, reindex.stderr);
    assert.match(
      reindex.stdout,
      new RegExp(`accepted the loss of ${40 - from} records the index had applied \\(${from} to 39\\)`),
    );
    assert.deepEqual(
      readdirSync(join(dataDir, 'journal')).filter((n) => n.endsWith('.set-aside')).length,
      files.length - 2,
    );
    const calendar = await open50(dataDir);
    try {
      assert.equal(calendar.journal.head.records, from);
      // the journal goes on from there
      await calendar.commit(sha256(new Uint8Array([1, 2, 3])));
      assert.equal(calendar.journal.head.records, from + 1);
    } finally {
      await calendar.close();
    }
  });

  it('survives an index of another format version: damage in an acknowledged record is refused, not cut off', async (t) => {
    const dataDir = tempDir(t);
    await acknowledged(dataDir, 50);
    flipRecord(dataDir, 10);
    // the version an older otsd wrote
    const env = open<Buffer, Buffer>({
      path: join(dataDir, 'index'),
      keyEncoding: 'binary',
      encoding: 'binary',
      maxDbs: 16,
    });
    const meta = env.openDB<Buffer, Buffer>({ name: 'meta', keyEncoding: 'binary', encoding: 'binary' });
    await meta.put(Buffer.from('version'), Buffer.from([0, 0, 0, 0, 0, 0, 0, 1]));
    await env.close();
    await assert.rejects(
      open50(dataDir),
      refusal(/record 10 at offset \d+: .*the index has applied 50 records/),
    );
    assert.equal(
      readFileSync(segments(dataDir)[0] as string).byteLength,
      SEGMENT_HEADER_BYTES + 50 * RECORD_BYTES,
    );
  });

  it('survives a reindex that died: the position is kept through clear()', async (t) => {
    const dataDir = tempDir(t);
    await acknowledged(dataDir, 50);
    // what otsd reindex does before it catches up, and then the process died
    const index = CalendarIndex.open(join(dataDir, 'index'), join(dataDir, 'journal'));
    index.clear();
    await index.close();
    flipRecord(dataDir, 10);
    await assert.rejects(
      open50(dataDir),
      refusal(/record 10 at offset \d+: .*the index has applied 50 records/),
    );
    flipRecord(dataDir, 10);
    const calendar = await open50(dataDir);
    assert.equal(calendar.index.commitmentCount, 50);
    await calendar.close();
  });

  it("refuses a journal that is not the history the index acknowledged (another calendar's)", async (t) => {
    const dataDir = tempDir(t);
    const other = tempDir(t);
    await acknowledged(dataDir, 20);
    const otherCalendar = await Calendar.open({ dataDir: other, uri: URI, create: true });
    for (let i = 0; i < 30; i++) await otherCalendar.commit(sha256(new Uint8Array([7, i])));
    await otherCalendar.close();
    rmSync(join(dataDir, 'journal'), { recursive: true });
    cpSync(join(other, 'journal'), join(dataDir, 'journal'), { recursive: true });
    await assert.rejects(
      open50(dataDir),
      refusal(/its record 19 is not the one the index acknowledged.*otsd reindex --accept-loss/),
    );
  });
});
