/**
 * Compacting a rebuilt index: the copy holds every entry the index held, in a smaller file, and
 * replaces it whole; a start that rebuilds the index from nothing (an index of an older version)
 * compacts it, and a copy left by a compaction otsd ended in is removed at the next start.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Calendar } from '../../src/calendar/calendar.js';
import { CalendarIndex } from '../../src/index/calendar-index.js';
import { COMPACTING_DIR, compactIndex } from '../../src/index/compact-index.js';
import { quietLog } from '../../src/journal/journal.js';
import { sha256 } from '../../src/ots/index.js';
import { indexContents, indexDifference } from '../helpers/index-contents.js';
import { memoryLog, tempDir } from '../helpers/temp-dir.js';

const URI = 'http://127.0.0.1:14788';

/** A calendar of 3,000 commitments committed 50 at a time: its index holds old page copies. */
async function calendarOf(dataDir: string): Promise<void> {
  const calendar = await Calendar.open({ dataDir, uri: URI, create: true });
  for (let i = 0; i < 3000; i += 50) {
    await Promise.all(
      Array.from({ length: 50 }, (_, j) => calendar.commit(sha256(new Uint8Array([5, (i + j) >> 8, i + j])))),
    );
  }
  await calendar.close();
}

describe('compacting the index', () => {
  it('replaces the file with a smaller copy holding every entry', async (t) => {
    const dataDir = tempDir(t);
    await calendarOf(dataDir);
    const path = join(dataDir, 'index');
    const file = join(path, 'data.mdb');
    const before = await indexContents(path);
    const sizeBefore = statSync(file).size;

    const index = CalendarIndex.open(path, join(dataDir, 'journal'));
    const compacted = await compactIndex(index, path, join(dataDir, 'journal'), quietLog);
    assert.notEqual(compacted, index);
    assert.equal(compacted.applied.number, 3000);
    assert.equal(compacted.lookup(sha256(new Uint8Array([5, 0, 7]))).state, 'pending');
    await compacted.close();

    assert.ok(statSync(file).size < sizeBefore, `${statSync(file).size} < ${sizeBefore}`);
    assert.equal(existsSync(join(path, COMPACTING_DIR)), false);
    assert.equal(indexDifference(await indexContents(path), before), undefined);
  });

  it('compacts an index rebuilt from nothing at start, and removes a copy otsd ended while writing', async (t) => {
    const dataDir = tempDir(t);
    await calendarOf(dataDir);
    const path = join(dataDir, 'index');
    const sizeBefore = statSync(join(path, 'data.mdb')).size;
    // emptied by an older otsd's reindex that died: the next start rebuilds it from nothing
    const index = CalendarIndex.open(path, join(dataDir, 'journal'));
    index.clear();
    await index.close();
    mkdirSync(join(path, COMPACTING_DIR));
    writeFileSync(join(path, COMPACTING_DIR, 'data.mdb'), 'a copy cut short');

    const log = memoryLog();
    const calendar = await Calendar.open({ dataDir, uri: URI, log });
    try {
      assert.equal(calendar.index.applied.number, 3000);
      assert.equal(calendar.index.pendingCount, 3000);
      assert.equal(existsSync(join(path, COMPACTING_DIR)), false);
      assert.ok(statSync(join(path, 'data.mdb')).size < sizeBefore);
      assert.equal(
        log.lines.find((l) => l.level === 'warn' || l.level === 'error'),
        undefined,
      );
    } finally {
      await calendar.close();
    }
  });
});
