/**
 * Signals under load. SIGTERM while keep-alive connections send digests, one at a time or pipelined:
 * every request sent before the signal is answered (its proof, or 503) before its connection closes,
 * otsd exits 0 (a client that reads none of its answers holding it no longer than the linger bound),
 * and a restart knows every digest acknowledged. SIGHUP while clients post: reloads (a bad file among
 * them) change nothing acknowledged.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startCalendarProcess } from '../helpers/calendar-process.js';
import { freePort } from '../helpers/free-port.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';
import { lostOverHttp } from './check.js';
import { type Ack, pipelineDigests, postDigests } from './load.js';
import { scale } from './soak.js';
import { reportFault } from './table.js';

/** Round interval (ms), connections, requests pipelined on each: short rounds dropped the most. */
const STOPS: [number, number, number][] = scale(
  [
    [100, 64, 1],
    [100, 32, 4],
    [1000, 64, 4],
  ],
  [
    [100, 256, 1],
    [100, 64, 4],
    [500, 256, 1],
    [500, 64, 8],
    [1000, 512, 1],
    [2000, 64, 4],
    [100, 32, 40],
  ],
);

describe('SIGTERM under load', () => {
  it('answers every request sent before the signal, on keep-alive and pipelined connections', async (t) => {
    const dataDir = tempDir(t);
    const port = await freePort();
    const acks: Ack[] = [];
    let sent = 0;
    let unanswered = 0;
    const exits: (number | string)[] = [];
    for (const [roundMs, connections, pipeline] of STOPS) {
      const calendar = await startCalendarProcess(
        dataDir,
        ['--round-interval', String(roundMs), '--log-level', 'warn'],
        port,
      );
      t.after(() => calendar.stop('SIGKILL'));
      const load = await pipelineDigests(calendar.url, { connections, pipeline, thinkMs: 5 });
      await sleep(1000 + Math.random() * 1000);
      load.stopSending();
      exits.push(await calendar.stop('SIGTERM'));
      const result = await load.finish(10_000);
      acks.push(...result.acks);
      sent += result.sentBefore;
      unanswered += result.unanswered;
    }
    const calendar = await startCalendarProcess(dataDir, ['--log-level', 'warn'], port);
    t.after(() => calendar.stop());
    const lost = (await lostOverHttp(calendar.url, acks)).length;
    reportFault({
      case: 'SIGTERM under keep-alive and pipelined load',
      tries: STOPS.length,
      acknowledged: acks.length,
      lost: lost + unanswered,
      result: `${lost + unanswered === 0 ? 'ok' : 'FAIL'} (sent before the signals ${sent}, unanswered ${unanswered}, acknowledged and lost ${lost}; exits ${exits.join(' ')})`,
    });
    assert.deepEqual(
      exits,
      STOPS.map(() => 0),
    );
    assert.equal(unanswered, 0, `${unanswered} of ${sent} requests sent before a SIGTERM got no answer`);
    assert.equal(lost, 0);
  });

  it('exits 0 within the linger bound while a client reads none of its answers', async (t) => {
    const calendar = await startCalendarProcess(tempDir(t), ['--log-level', 'info']);
    t.after(() => calendar.stop('SIGKILL'));
    const { hostname, port } = new URL(calendar.url);
    const reader = connect(Number(port), hostname);
    t.after(() => reader.destroy());
    reader.on('error', () => {});
    await new Promise((resolve) => reader.once('connect', resolve));
    // its receive window fills with the answers, and otsd's writes stall
    reader.pause();
    reader.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(3000));
    await sleep(3000);
    const started = Date.now();
    const exit = await calendar.stop('SIGTERM');
    const seconds = (Date.now() - started) / 1000;
    const stopped = /calendar: stopped/.test(calendar.output());
    reportFault({
      case: 'SIGTERM with a client reading nothing',
      tries: 1,
      acknowledged: 0,
      lost: 0,
      result: `${exit === 0 && stopped ? 'ok' : 'FAIL'} (exit ${exit} after ${seconds.toFixed(1)} s)`,
    });
    // the graceful stop's own timeout (30 s) ends it with exit 1 when the client holds it
    assert.equal(exit, 0, calendar.output());
    assert.ok(stopped, 'calendar: stopped logged');
  });
});

describe('SIGHUP under load', () => {
  it('reloads while clients post, a broken file among them, and loses nothing acknowledged', async (t) => {
    const dataDir = tempDir(t);
    const config = join(tempDir(t), 'otsd.toml');
    writeFileSync(config, 'round_interval_ms = 200\n');
    // info: a reload that succeeds says so at info only, and each SIGHUP waits for its reload's line
    const calendar = await startCalendarProcess(dataDir, ['--config', config, '--log-level', 'info']);
    t.after(() => calendar.stop('SIGKILL'));
    const load = postDigests(() => calendar.url, 32);
    const reloads = () =>
      calendar.output().match(/otsd: configuration (reloaded|not reloaded)/g)?.length ?? 0;
    const hup = async (toml: string) => {
      const before = reloads();
      writeFileSync(config, toml);
      calendar.child.kill('SIGHUP');
      // the file is not written again before this signal's reload has read it (however late a busy otsd
      // gets to it), and no two signals are pending at once, to be taken as one
      await waitFor(
        `the reload after a SIGHUP with ${JSON.stringify(toml)}`,
        () => (reloads() > before ? true : undefined),
        30_000,
        () => calendar.output(),
      );
    };
    let hups = 0;
    try {
      for (; hups < scale(3, 10); hups++) await hup('round_interval_ms = 200\n');
      const before = load.counts.refused;
      await hup('max_waiting_digests = 1\n');
      await waitFor(
        'refusals past the reloaded cap',
        () => (load.counts.refused > before ? true : undefined),
        30_000,
        () => calendar.output(),
      );
      await hup('max_waiting_digests = \n');
      await hup('max_waiting_digests = -5\n');
      await hup('max_waiting_digests = 200000\n');
      hups += 4;
      const ok = load.counts.ok;
      await waitFor(
        'digests taken again',
        () => (load.counts.ok > ok + 32 ? true : undefined),
        30_000,
        () => calendar.output(),
      );
    } finally {
      await load.stop();
    }
    assert.equal(await calendar.stop('SIGTERM'), 0, calendar.output());
    assert.match(calendar.output(), /configuration not reloaded/);
    assert.match(calendar.output(), /max_waiting_digests: expected a positive integer, got -5/);
    const restarted = await startCalendarProcess(dataDir, ['--log-level', 'warn']);
    t.after(() => restarted.stop());
    const lost = (await lostOverHttp(restarted.url, load.acks)).length;
    reportFault({
      case: 'SIGHUP under load (a broken file, a cap of 1)',
      tries: hups,
      acknowledged: load.acks.length,
      lost,
      result: `${lost === 0 ? 'ok' : 'FAIL'} (refused while capped ${load.counts.refused})`,
    });
    assert.equal(lost, 0);
  });
});
