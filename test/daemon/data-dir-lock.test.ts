/** One otsd per data directory: a second one, or a reindex, is refused while the first runs. */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DataDirInUseError, LOCK_FILE, lockDataDir } from '../../src/daemon/data-dir-lock.js';
import { runCliAsync } from '../cli/run-cli.js';
import { startCalendarProcess } from '../helpers/calendar-process.js';
import { freePort } from '../helpers/free-port.js';
import { tempDir } from '../helpers/temp-dir.js';

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

  it('takes over the lock of a process that is gone', (t) => {
    const dataDir = tempDir(t);
    writeFileSync(join(dataDir, LOCK_FILE), '999999999\n');
    const release = lockDataDir(dataDir);
    assert.throws(() => lockDataDir(dataDir), DataDirInUseError);
    release();
    lockDataDir(dataDir)();
  });
});
