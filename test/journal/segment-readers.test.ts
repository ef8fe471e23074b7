/**
 * SegmentReaders, the segment files an upstream keeps open for its mirrors' chunks: ranges read as
 * written, a file opened once while kept, the least recently used closed past four but never while a
 * read is using it, a file that failed to open not kept, and close() ending every one.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { type JournalFile, type JournalFiles, nodeFiles } from '../../src/journal/files.js';
import { segmentFileName } from '../../src/journal/segment.js';
import { SegmentReaders } from '../../src/journal/segment-readers.js';
import { tempDir } from '../helpers/temp-dir.js';

/** Segments 0..count-1 in a new directory, each 1000 bytes of its own number. */
function segmentsDir(t: TestContext, count: number): string {
  const dir = tempDir(t);
  for (let s = 0; s < count; s++) writeFileSync(join(dir, segmentFileName(s)), new Uint8Array(1000).fill(s));
  return dir;
}

/** node:fs, counting the files opened and closed; `hold` keeps reads waiting until released. */
function countingFiles() {
  const counts = { opened: 0, closed: 0, failNextOpen: false };
  let held: Promise<void> | undefined;
  let release = () => {};
  const files: JournalFiles = {
    ...nodeFiles,
    open: async (path, flags) => {
      if (counts.failNextOpen) {
        counts.failNextOpen = false;
        throw Object.assign(new Error(`EMFILE: too many open files, open '${path}'`), { code: 'EMFILE' });
      }
      const file = await nodeFiles.open(path, flags);
      counts.opened++;
      const counted: JournalFile = {
        ...file,
        read: async (...args) => {
          await held;
          return file.read(...args);
        },
        write: (...args) => file.write(...args),
        datasync: () => file.datasync(),
        sync: () => file.sync(),
        truncate: (length) => file.truncate(length),
        stat: () => file.stat(),
        close: async () => {
          counts.closed++;
          await file.close();
        },
      };
      return counted;
    },
  };
  const hold = () => {
    held = new Promise((resolve) => {
      release = () => {
        held = undefined;
        resolve();
      };
    });
  };
  return { files, counts, hold, release: () => release() };
}

describe('SegmentReaders', () => {
  it('reads ranges as written, opening each kept file once', async (t) => {
    const dir = segmentsDir(t, 3);
    const { files, counts } = countingFiles();
    const readers = new SegmentReaders(files, dir);
    for (let pass = 0; pass < 3; pass++) {
      for (let s = 0; s < 3; s++) {
        assert.deepEqual(await readers.read(s, 100, 164), new Uint8Array(64).fill(s));
      }
    }
    // a range past the file's end: what there is
    assert.equal((await readers.read(2, 990, 1200)).byteLength, 10);
    assert.equal(counts.opened, 3);
    await readers.close();
    assert.equal(counts.closed, 3);
    // opened again after close()
    assert.deepEqual(await readers.read(1, 0, 4), new Uint8Array(4).fill(1));
    assert.equal(counts.opened, 4);
    await readers.close();
  });

  it('closes the least recently used past four, but not while a read is using it', async (t) => {
    const dir = segmentsDir(t, 6);
    const { files, counts, hold, release } = countingFiles();
    const readers = new SegmentReaders(files, dir);
    t.after(() => readers.close());
    for (let s = 0; s < 4; s++) await readers.read(s, 0, 8);
    await readers.read(0, 0, 8);
    await readers.read(4, 0, 8);
    // 1 was the least recently used (0 was read again)
    assert.equal(counts.closed, 1);
    await readers.read(0, 0, 8);
    assert.equal(counts.opened, 5);

    // a read of 2 still in flight when it becomes the least recently used and 5 pushes it out
    hold();
    const reading = readers.read(2, 0, 8);
    const others = [3, 4, 0, 5].map((s) => readers.read(s, 0, 8));
    assert.equal(counts.closed, 1, 'not closed while its read is in flight');
    release();
    assert.deepEqual(await reading, new Uint8Array(8).fill(2));
    await Promise.all(others);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(counts.closed, 2, 'closed once its read ended');
    assert.equal(counts.opened, 6);
  });

  it('does not keep a file that failed to open: the next read tries again', async (t) => {
    const dir = segmentsDir(t, 1);
    const { files, counts } = countingFiles();
    const readers = new SegmentReaders(files, dir);
    t.after(() => readers.close());
    counts.failNextOpen = true;
    await assert.rejects(readers.read(0, 0, 8), /EMFILE/);
    assert.deepEqual(await readers.read(0, 0, 8), new Uint8Array(8).fill(0));
    assert.equal(counts.opened, 1);
  });
});
