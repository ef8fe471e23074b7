/**
 * kill -9 under load, N times (the reliability report's 1a): clients post digests all along; each time
 * otsd runs with a round interval picked at random, is killed at a random moment, and its journal
 * verifies; at the end every acknowledged digest is known, asked over HTTP of a restarted otsd and
 * read from its data dir.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { verifyJournal } from '../../src/journal/verify.js';
import { startCalendarProcess } from '../helpers/calendar-process.js';
import { freePort } from '../helpers/free-port.js';
import { tempDir } from '../helpers/temp-dir.js';
import { lostAfterRestart } from './check.js';
import { postDigests } from './load.js';
import { scale } from './soak.js';
import { reportFault } from './table.js';

const KILLS = scale(4, 20);
const ROUND_INTERVALS = [5, 10, 25, 50, 100, 250];
const pick = <T>(list: T[]) => list[Math.floor(Math.random() * list.length)] as T;

describe('kill -9 under load', () => {
  it(`loses no acknowledged digest across ${KILLS} kills`, async (t) => {
    const dataDir = tempDir(t);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const load = postDigests(() => url, scale(16, 32));
    const journalErrors: string[] = [];
    try {
      for (let kill = 0; kill < KILLS; kill++) {
        const calendar = await startCalendarProcess(
          dataDir,
          ['--round-interval', String(pick(ROUND_INTERVALS)), '--log-level', 'warn'],
          port,
        );
        await sleep(300 + Math.random() * scale(1200, 3700));
        calendar.child.kill('SIGKILL');
        await calendar.stop();
        journalErrors.push(...(await verifyJournal(join(dataDir, 'journal'))).errors);
      }
    } finally {
      await load.stop();
    }
    const lost = (await lostAfterRestart(dataDir, port, ['--log-level', 'warn'], load.acks)).size;
    reportFault({
      case: 'kill -9 under load (random rounds 5-250 ms)',
      tries: KILLS,
      acknowledged: load.acks.length,
      lost,
      result: lost === 0 && journalErrors.length === 0 ? 'ok' : `FAIL ${journalErrors.join('; ')}`,
    });
    assert.deepEqual(journalErrors, []);
    assert.equal(lost, 0);
    assert.ok(load.acks.length > 50, `only ${load.acks.length} digests were acknowledged`);
  });
});
