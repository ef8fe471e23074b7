/**
 * One otsd per data directory: a second one, or a reindex, is refused while the first runs; the lock
 * goes when its holder does, however it ends, and a lock file naming a live PID (the new process's
 * own, as PID 1 in a container) does not keep a calendar down.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DataDirInUseError, LOCK_FILE, lockDataDir } from '../../src/journal/data-dir-lock.js';
import { runCliAsync } from '../cli/run-cli.js';
import { startCalendarProcess } from '../helpers/calendar-process.js';
import { freePort } from '../helpers/free-port.js';
import { tempDir } from '../helpers/temp-dir.js';

const LOCK_MODULE = new URL('../../src/journal/data-dir-lock.js', import.meta.url).href;

describe('data directory lock', () => {
  it('refuses a second otsd and a reindex while one runs, and is released on stop', async (t) => {
    const dataDir = tempDir(t);
    const first = await startCalendarProcess(dataDir);
    t.after(() => first.stop());
    const port = await freePort();
    const second = await runCliAsync(['run', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`]);
    assert.equal(second.status, 1);
    assert.match(
      second.stderr,
      new RegExp(`data dir ${dataDir} is in use by another otsd \\(pid ${first.child.pid}\\)`),
    );
    const reindex = await runCliAsync(['reindex', dataDir]);
    assert.equal(reindex.status, 1);
    assert.match(reindex.stderr, /is in use by another otsd/);
    assert.equal(await first.stop('SIGTERM'), 0);
    const after = await runCliAsync(['reindex', dataDir]);
    assert.equal(after.status, 0, after.stderr);
  });

  it('is free again at once after kill -9 of its holder: a reindex and a start succeed', async (t) => {
    const dataDir = tempDir(t);
    const killed = await startCalendarProcess(dataDir);
    t.after(() => killed.stop());
    assert.equal(await killed.stop('SIGKILL'), 'SIGKILL');
    assert.equal(readFileSync(join(dataDir, LOCK_FILE), 'utf8'), `${killed.child.pid}\n`);
    const reindex = await runCliAsync(['reindex', dataDir]);
    assert.equal(reindex.status, 0, reindex.stderr);
    const restarted = await startCalendarProcess(dataDir);
    t.after(() => restarted.stop());
    assert.equal((await fetch(`${restarted.url}/journal/head`)).status, 200);
    assert.equal(await restarted.stop('SIGTERM'), 0);
  });

  it('takes a lock file left holding its own PID (otsd as PID 1 in a restarted container)', (t) => {
    const dataDir = tempDir(t);
    writeFileSync(join(dataDir, LOCK_FILE), `${process.pid}\n`);
    const release = lockDataDir(dataDir);
    assert.throws(
      () => lockDataDir(dataDir),
      (e) =>
        e instanceof DataDirInUseError &&
        e.message === `data dir ${dataDir} is in use by another otsd (pid ${process.pid})`,
    );
    release();
    release();
    lockDataDir(dataDir)();
  });

  it('starts a calendar and a reindex on a lock file naming a live process that holds no lock', async (t) => {
    const dataDir = tempDir(t);
    // this test runner is alive, as a reused PID after a reboot would be
    writeFileSync(join(dataDir, LOCK_FILE), `${process.pid}\n`);
    const calendar = await startCalendarProcess(dataDir);
    t.after(() => calendar.stop());
    assert.equal((await fetch(`${calendar.url}/journal/head`)).status, 200);
    assert.equal(await calendar.stop('SIGTERM'), 0);
    writeFileSync(join(dataDir, LOCK_FILE), `${process.pid}\n`);
    const reindex = await runCliAsync(['reindex', dataDir]);
    assert.equal(reindex.status, 0, reindex.stderr);
  });

  it('is not kept by a child of its holder that outlives it (the embedded bcoin node after kill -9)', async (t) => {
    const dataDir = tempDir(t);
    const holder = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { spawn } from 'node:child_process';
         import { lockDataDir } from ${JSON.stringify(LOCK_MODULE)};
         lockDataDir(${JSON.stringify(dataDir)});
         const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
         console.log(child.pid);
         setInterval(() => {}, 60000);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = new Promise((resolve) => holder.once('exit', resolve));
    t.after(() => holder.kill('SIGKILL'));
    const childPid = await new Promise<number>((resolve, reject) => {
      holder.stdout.once('data', (line) => resolve(Number.parseInt(String(line), 10)));
      holder.once('exit', () => reject(new Error('lock holder exited before locking')));
    });
    t.after(() => {
      try {
        process.kill(childPid, 'SIGKILL');
      } catch {}
    });
    assert.throws(() => lockDataDir(dataDir), DataDirInUseError);
    holder.kill('SIGKILL');
    await exited;
    process.kill(childPid, 0); // the child still runs
    lockDataDir(dataDir)();
  });
});
