/**
 * The start's child that reads an index's file through (src/index/read-pages.ts): a child ended by
 * a signal that stops processes (a unit stopping: systemd signals the whole group) tells nothing
 * about the index, where one ended by a fault says it is damaged.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Calendar } from '../../src/calendar/calendar.js';
import { readIndexPages } from '../../src/index/read-pages.js';
import { sha256 } from '../../src/ots/index.js';
import { LmdbBytes } from '../helpers/lmdb-bytes.js';
import { tempDir } from '../helpers/temp-dir.js';

/** Sends `signal` to this process's child running read-pages, as soon as it runs. */
async function signalTheChild(signal: NodeJS.Signals): Promise<void> {
  for (let waited = 0; waited < 10_000; waited += 2) {
    for (const task of readdirSync(`/proc/${process.pid}/task`)) {
      const children = readFileSync(`/proc/${process.pid}/task/${task}/children`, 'latin1').trim();
      for (const pid of children ? children.split(' ').map(Number) : []) {
        const command = readFileSync(`/proc/${pid}/cmdline`, 'latin1');
        if (command.includes('read-pages.js')) return void process.kill(pid, signal);
      }
    }
    await sleep(2);
  }
  throw new Error('the child never ran');
}

describe("the start's child reading the index through", () => {
  it('says the check was stopped when a stop signal ends it, and damage when a fault does', async (t) => {
    const dataDir = tempDir(t);
    const calendar = await Calendar.open({ dataDir, uri: 'http://127.0.0.1:14789', create: true });
    await calendar.commit(sha256(new Uint8Array([1])));
    await calendar.close();
    const path = join(dataDir, 'index');
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const [read] = await Promise.all([readIndexPages(path), signalTheChild(signal)]);
      assert.deepEqual([read.stoppedBy, read.problem], [signal, undefined]);
    }
    const [read] = await Promise.all([readIndexPages(path), signalTheChild('SIGSEGV')]);
    assert.equal(read.stoppedBy, undefined);
    assert.equal(read.problem, 'reading every page of it ended with SIGSEGV');
    const sound = await readIndexPages(path);
    assert.deepEqual([sound.problem, sound.stoppedBy, sound.acknowledged?.number], [undefined, undefined, 1]);
  });

  it('finds a sub-database whose name was damaged, and makes none (the child opens it as otsd does)', async (t) => {
    const dataDir = tempDir(t);
    const calendar = await Calendar.open({ dataDir, uri: 'http://127.0.0.1:14789', create: true });
    await calendar.close();
    const file = join(dataDir, 'index', 'data.mdb');
    const lmdb = new LmdbBytes(readFileSync(file));
    // the last byte of the name "stamps" made one that is no UTF-8
    const nameEnd = lmdb.subDatabase('stamps') - 2;
    lmdb.bytes[nameEnd] = (lmdb.bytes[nameEnd] as number) | 0x80;
    writeFileSync(file, lmdb.bytes);
    const read = await readIndexPages(join(dataDir, 'index'));
    assert.match(read.problem ?? '', /sub-database "stamp.*" is listed but cannot be opened/);
    assert.deepEqual(readFileSync(file), lmdb.bytes);
  });
});
