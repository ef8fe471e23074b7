/**
 * The index is checked at start, before anything is answered from it: its LMDB file before LMDB maps
 * it (garbage at its start made otsd die with SIGSEGV), then its entries against the journal. A
 * damaged index is rebuilt from the journal with a log line, and every acknowledged commitment is
 * found again.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { type Database, open } from 'lmdb';
import { Calendar } from '../../src/calendar/calendar.js';
import { CalendarIndex } from '../../src/index/calendar-index.js';
import { IndexDamagedError } from '../../src/index/errors.js';
import { lmdbFileProblem } from '../../src/index/lmdb-file.js';
import { DB, META, PAGE } from '../../src/index/lmdb-layout.js';
import { StoredCursorDamagedError } from '../../src/index/stored-cursor.js';
import { sha256 } from '../../src/ots/index.js';
import { commitmentEntry } from '../helpers/index-contents.js';
import { LmdbBytes } from '../helpers/lmdb-bytes.js';
import { mountSmallDisk } from '../helpers/small-disk.js';
import { memoryLog, tempDir } from '../helpers/temp-dir.js';

const URI = 'http://127.0.0.1:14789';
const COMMITMENTS = Array.from({ length: 60 }, (_, i) => sha256(new Uint8Array([9, i])));

async function calendarOf(dataDir: string): Promise<void> {
  const calendar = await Calendar.open({ dataDir, uri: URI, create: true });
  for (const c of COMMITMENTS) await calendar.commit(c);
  await calendar.close();
}

/**
 * Opens the calendar; asserts the index was rebuilt (`because` in its log line) and answers every
 * commitment. Returns the log.
 */
async function assertRebuilt(
  dataDir: string,
  because: RegExp,
  /** Commitments durable but never acknowledged, after COMMITMENTS. */
  more = 0,
): Promise<ReturnType<typeof memoryLog>> {
  const log = memoryLog();
  const calendar = await Calendar.open({ dataDir, uri: URI, log });
  try {
    const line = log.lines.find((l) => l.msg === 'index: damaged; rebuilding it from the journal');
    assert.ok(line, `no rebuild logged: ${JSON.stringify(log.lines)}`);
    assert.equal(line.level, 'error');
    assert.match((line.obj as { problem: string }).problem, because);
    for (const [i, c] of COMMITMENTS.entries()) {
      assert.notEqual(calendar.index.lookup(c).state, 'unknown', `commitment ${i}`);
    }
    assert.equal(calendar.index.commitmentCount, COMMITMENTS.length + more);
  } finally {
    await calendar.close();
  }
  return log;
}

/** Removes every second entry of every sub-database but the cursor's: damage LMDB itself cannot see. */
async function dropEntries(indexPath: string): Promise<void> {
  const root = open<Buffer, Buffer>({
    path: indexPath,
    keyEncoding: 'binary',
    encoding: 'binary',
    maxDbs: 32,
  });
  const names = [...root.getKeys()].map((key) => key.toString('utf8').replace(/\0$/, ''));
  for (const name of names.filter((n) => n !== 'meta')) {
    const db = root.openDB<Buffer, Buffer>({ name, keyEncoding: 'binary', encoding: 'binary' });
    const keys = [...db.getKeys()].filter((_, i) => i % 2 === 0);
    for (const key of keys) await db.remove(key);
  }
  await root.close();
}

/** Runs `use` on sub-database `name` of the index at `indexPath`, opened by the test itself. */
async function withDatabase<T>(
  indexPath: string,
  name: string,
  use: (db: Database<Buffer, Buffer>) => Promise<T> | T,
): Promise<T> {
  const root = open<Buffer, Buffer>({
    path: indexPath,
    keyEncoding: 'binary',
    encoding: 'binary',
    maxDbs: 64,
  });
  try {
    return await use(root.openDB<Buffer, Buffer>({ name, keyEncoding: 'binary', encoding: 'binary' }));
  } finally {
    await root.close();
  }
}

/**
 * Flips bit 18 of the index's applied record number (big-endian), in every copy of it in the file:
 * 60 records read as 262,204, past the journal's end (the CI's failure, 2026-11-30).
 */
async function flipAppliedRecordNumber(indexPath: string): Promise<void> {
  const stored = await withDatabase(indexPath, 'meta', (db) => db.get(Buffer.from('applied')));
  assert.ok(stored);
  const fields = stored.subarray(0, 56);
  const file = join(indexPath, 'data.mdb');
  const bytes = readFileSync(file);
  let flipped = 0;
  for (let at = bytes.indexOf(fields); at >= 0; at = bytes.indexOf(fields, at + 1)) {
    bytes[at + 5] = (bytes[at + 5] as number) ^ 0b100;
    flipped++;
  }
  assert.ok(flipped > 0);
  writeFileSync(file, bytes);
}

/** Cuts the journal's only segment to half its length: acknowledged records gone. */
function cutJournal(dataDir: string): void {
  const journal = join(dataDir, 'journal');
  const [segment, ...more] = readdirSync(journal).filter((n) => !n.startsWith('.'));
  assert.ok(segment && more.length === 0, `one segment expected: ${readdirSync(journal)}`);
  const path = join(journal, segment);
  truncateSync(path, Math.floor(statSync(path).size / 2));
}

const REFUSED = /records \d+\.\.\d+ are missing: .*Refusing to start/;

describe('the index checked at start', () => {
  it('rebuilds an index whose data.mdb starts with garbage, instead of letting LMDB map it', async (t) => {
    const dataDir = tempDir(t);
    await calendarOf(dataDir);
    const file = join(dataDir, 'index', 'data.mdb');
    const fd = openSync(file, 'r+');
    writeSync(fd, randomBytes(8192), 0, 8192, 0);
    closeSync(fd);
    assert.match(lmdbFileProblem(file) ?? '', /meta page 0/);
    await assertRebuilt(dataDir, /data\.mdb/);
  });

  it('keeps the acknowledged position of an index whose pages are damaged, when the child can read it', async (t) => {
    const dataDir = tempDir(t);
    await calendarOf(dataDir);
    // every page holding a commitment's entry (old copies of it in free pages too) overwritten: the
    // child reading the live one fails or dies
    const file = join(dataDir, 'index', 'data.mdb');
    const entry = await commitmentEntry(dataDir, COMMITMENTS[5] as Uint8Array);
    const bytes = readFileSync(file);
    let damaged = 0;
    for (let at = bytes.indexOf(entry); at > 0; at = bytes.indexOf(entry, at + 1)) {
      const page = at - (at % 4096);
      bytes.fill(0xff, page, page + 4096);
      damaged++;
    }
    assert.ok(damaged > 0);
    writeFileSync(file, bytes);
    // found by the walk of its trees, the child still reading the position
    const log = await assertRebuilt(dataDir, /it says it is page|reading every page of it/);
    const line = log.lines.find((l) => l.msg === 'index: damaged; rebuilding it from the journal');
    assert.ok(line);
    assert.equal((line.obj as { acknowledgedRecords: unknown }).acknowledgedRecords, COMMITMENTS.length);
  });

  it('rebuilds an index whose applied position has a flipped bit, rather than holding the journal to it', async (t) => {
    const dataDir = tempDir(t);
    await calendarOf(dataDir);
    await flipAppliedRecordNumber(join(dataDir, 'index'));
    await assertRebuilt(dataDir, /its applied position is damaged \(its check does not match\)/);
  });

  it('refuses to open an index whose position is damaged, leaving none of its files open', async (t) => {
    const dataDir = tempDir(t);
    await calendarOf(dataDir);
    const indexPath = join(dataDir, 'index');
    await flipAppliedRecordNumber(indexPath);
    const opened = () =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`).startsWith(indexPath);
        } catch {
          return false;
        }
      });
    assert.deepEqual(opened(), []);
    assert.throws(() => CalendarIndex.open(indexPath, join(dataDir, 'journal')), StoredCursorDamagedError);
    assert.deepEqual(opened(), []);
  });

  it('adds the check to a position an earlier otsd stored without one, at the first start', async (t) => {
    const dataDir = tempDir(t);
    await calendarOf(dataDir);
    const indexPath = join(dataDir, 'index');
    const applied = Buffer.from('applied');
    // as an earlier otsd wrote it: the fields alone
    await withDatabase(indexPath, 'meta', (db) =>
      db.put(applied, (db.get(applied) as Buffer).subarray(0, 56)),
    );
    const calendar = await Calendar.open({ dataDir, uri: URI });
    await calendar.close();
    assert.equal((await withDatabase(indexPath, 'meta', (db) => db.get(applied)))?.byteLength, 64);
  });

  it('rebuilds an index that lost entries, found by checking them against the journal', async (t) => {
    const dataDir = tempDir(t);
    await calendarOf(dataDir);
    await dropEntries(join(dataDir, 'index'));
    await assertRebuilt(dataDir, /record \d+|chunk \d+/);
  });

  it('rebuilds an index whose free list is damaged, which no read of an entry reads and a write fails on', async (t) => {
    const dataDir = tempDir(t);
    await calendarOf(dataDir);
    const file = join(dataDir, 'index', 'data.mdb');
    const lmdb = new LmdbBytes(readFileSync(file));
    // a page past the snapshot's last: LMDB's first write takes it and fails ("page not found")
    lmdb.bytes.writeBigUInt64LE(BigInt(lmdb.lastPage + 5), lmdb.freeSlot());
    writeFileSync(file, lmdb.bytes);
    await assertRebuilt(dataDir, /the free list, page \d+: free pages/);
    const calendar = await Calendar.open({ dataDir, uri: URI });
    await calendar.commit(sha256(new Uint8Array([10])));
    await calendar.close();
  });

  it('writes to the index once at start, under the marker (damage only a write meets is met there)', async (t) => {
    const dataDir = tempDir(t);
    await calendarOf(dataDir);
    const file = join(dataDir, 'index', 'data.mdb');
    const newest = () => {
      const lmdb = new LmdbBytes(readFileSync(file));
      return lmdb.bytes.readBigUInt64LE(lmdb.meta + META.txnid);
    };
    const before = newest();
    const calendar = await Calendar.open({ dataDir, uri: URI });
    await calendar.close();
    assert.ok(newest() > before, `no transaction after ${before}`);
    assert.ok(!existsSync(join(dataDir, 'index', 'check-started')));
  });

  it('keeps a sound index after a power cut in a commit made without a sync: LMDB opens the older snapshot, and so do the checks', async (t) => {
    const dataDir = tempDir(t);
    await calendarOf(dataDir);
    const indexPath = join(dataDir, 'index');
    // a commit lmdb-js makes without a sync (as ChainScanStore.save's)...
    await withDatabase(indexPath, 'chain-scan', (db) => db.put(Buffer.from('state'), Buffer.alloc(100, 1)));
    // ...then a power cut: its root page never reached the disk, nor lmdb-js's sync meta, and the
    // machine booted again
    const file = join(indexPath, 'data.mdb');
    const lmdb = new LmdbBytes(readFileSync(file));
    lmdb.bytes.fill(0, lmdb.pageSize / 2 + PAGE.headerBytes, lmdb.pageSize);
    const newestRoot = lmdb.root(META.mainDb);
    lmdb.bytes.fill(0, lmdb.at(newestRoot), lmdb.at(newestRoot + 1));
    for (const meta of [0, lmdb.pageSize]) lmdb.bytes.writeBigInt64LE(0x1234n, meta + META.bootId);
    writeFileSync(file, lmdb.bytes);
    const log = memoryLog();
    const calendar = await Calendar.open({ dataDir, uri: URI, log });
    try {
      assert.deepEqual(
        log.lines.filter((l) => l.msg.startsWith('index:')),
        [],
      );
      assert.equal(calendar.index.acknowledged?.number, COMMITMENTS.length);
      for (const c of COMMITMENTS) assert.notEqual(calendar.index.lookup(c).state, 'unknown');
    } finally {
      await calendar.close();
    }
  });

  it('a write LMDB fails on while otsd serves leaves the marker, and the next start rebuilds the index', async (t) => {
    const dataDir = tempDir(t);
    await calendarOf(dataDir);
    const calendar = await Calendar.open({ dataDir, uri: URI });
    // damage made under the running calendar, as a later write finds it: a sub-database's root past
    // the snapshot (LMDB finds it missing and fails the write: MDB_PAGE_NOTFOUND)
    const file = join(dataDir, 'index', 'data.mdb');
    const lmdb = new LmdbBytes(readFileSync(file));
    const fd = openSync(file, 'r+');
    const root = Buffer.alloc(8);
    root.writeBigUInt64LE(BigInt(lmdb.lastPage + 1));
    writeSync(fd, root, 0, 8, lmdb.subDatabase('commitment-prefixes') + DB.root);
    closeSync(fd);
    const failed = await calendar.commit(sha256(new Uint8Array([11]))).then(
      () => assert.fail('the commit was acknowledged'),
      (e: Error) => e,
    );
    assert.ok(failed.cause instanceof IndexDamagedError, String(failed));
    assert.match(failed.cause.message, /index: damaged \(MDB_.*the next start rebuilds it/);
    assert.ok(existsSync(join(dataDir, 'index', 'check-started')));
    await calendar.close();
    await assertRebuilt(dataDir, /otsd ended while it checked, caught up or wrote the index/, 1);
  });

  it('rebuilds without reading it an index whose check or catch-up ended the process last time', async (t) => {
    const dataDir = tempDir(t);
    await calendarOf(dataDir);
    writeFileSync(join(dataDir, 'index', 'check-started'), '{}');
    await assertRebuilt(dataDir, /otsd ended while it checked, caught up or wrote the index/);
  });

  it('leaves a sound index as it is', async (t) => {
    const dataDir = tempDir(t);
    await calendarOf(dataDir);
    const log = memoryLog();
    const calendar = await Calendar.open({ dataDir, uri: URI, log });
    await calendar.close();
    assert.deepEqual(
      log.lines.filter((l) => l.msg.startsWith('index:')),
      [],
    );
  });

  it('a start on a full disk leaves no marker, names it, and the next start still refuses a cut journal', async (t) => {
    const disk = mountSmallDisk(t, 8);
    if (!disk) return;
    const dataDir = join(disk.dir, 'data');
    await calendarOf(dataDir);
    await disk.fill();
    await assert.rejects(
      Calendar.open({ dataDir, uri: URI }),
      /writing .*check-started failed: ENOSPC.*Make room on it/,
    );
    assert.deepEqual(
      readdirSync(join(dataDir, 'index')).filter((n) => n.startsWith('check-started')),
      [],
      'a failed marker write leaves nothing behind',
    );
    await disk.free();
    cutJournal(dataDir);
    await assert.rejects(Calendar.open({ dataDir, uri: URI }), REFUSED);
  });

  it('reads the acknowledged position from the index when the marker left by the last start is empty', async (t) => {
    const dataDir = tempDir(t);
    await calendarOf(dataDir);
    // an older otsd's marker, cut short by a full disk or a power cut
    writeFileSync(join(dataDir, 'index', 'check-started'), '');
    cutJournal(dataDir);
    await assert.rejects(Calendar.open({ dataDir, uri: URI }), REFUSED);
    assert.ok(existsSync(join(dataDir, 'index', 'check-started')), 'the rebuilt index keeps the position');
    await assert.rejects(Calendar.open({ dataDir, uri: URI }), REFUSED);
  });

  it("refuses a journal damaged in a middle segment as the journal's damage, leaving the index as it is", async (t) => {
    const dataDir = tempDir(t);
    const calendar = await Calendar.open({ dataDir, uri: URI, create: true, maxSegmentBytes: 1024 });
    for (const c of COMMITMENTS) await calendar.commit(c);
    await calendar.close();
    const journal = join(dataDir, 'journal');
    const segments = readdirSync(journal)
      .filter((n) => !n.startsWith('.'))
      .sort();
    assert.ok(segments.length >= 3, `several segments expected: ${segments}`);
    const middle = join(journal, segments[1] as string);
    const bytes = readFileSync(middle);
    const at = COMMITMENTS.map((c) => bytes.indexOf(Buffer.from(c))).find((i) => i > 0);
    assert.ok(at !== undefined);
    bytes[at] = (bytes[at] as number) ^ 1;
    writeFileSync(middle, bytes);
    const index = readFileSync(join(dataDir, 'index', 'data.mdb'));
    const log = memoryLog();
    await assert.rejects(
      Calendar.open({ dataDir, uri: URI, log }),
      /record \d+ .*the journal is damaged \(the index is left as it is\)\. Refusing to start\. Run otsd verify-journal/,
    );
    assert.deepEqual(
      log.lines.filter((l) => l.msg.startsWith('index:')),
      [],
    );
    assert.ok(readFileSync(join(dataDir, 'index', 'data.mdb')).equals(index), 'the index is left as it is');
  });
});
