/**
 * A small disk filled under load, then freed (the reliability report's 2d): while it is full, digests
 * get 503 saying the calendar cannot write, and the status page (503: the health check), `otsd status`
 * (exit 1) and the metrics show it; once space is freed otsd takes digests again by itself, with no
 * restart, and every acknowledged digest is still known.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { HttpErrors } from '../../src/http/errors.js';
import { runCliAsync } from '../cli/run-cli.js';
import { startCalendarProcess } from '../helpers/calendar-process.js';
import { freePort } from '../helpers/free-port.js';
import { mountSmallDisk } from '../helpers/small-disk.js';
import { waitFor } from '../helpers/wait-for.js';
import { lostInDataDir, lostOverHttp } from './check.js';
import { postDigests } from './load.js';
import { scale } from './soak.js';
import { reportFault } from './table.js';

const FILLS = scale(1, 3);

const post = async (url: string) => {
  const res = await fetch(`${url}/digest`, {
    method: 'POST',
    body: crypto.getRandomValues(new Uint8Array(32)),
  });
  return { status: res.status, text: res.status === 200 ? '' : await res.text() };
};

const health = async (url: string) => {
  const res = await fetch(`${url}/status`, { headers: { accept: 'application/json' } });
  const json = (await res.json()) as {
    warnings: string[];
    journal: { unavailable: { reason: string } | null };
  };
  return { status: res.status, ...json };
};

const metric = async (url: string, name: string) =>
  Number((await (await fetch(`${url}/metrics`)).text()).match(new RegExp(`^${name} (\\S+)$`, 'm'))?.[1]);

describe('a small disk', () => {
  it(`filled under load ${FILLS} time(s), then freed: 503 meanwhile, writing again by itself, nothing lost`, async (t) => {
    const disk = mountSmallDisk(t, 16);
    if (!disk) {
      reportFault({
        case: 'a small disk filled, then freed',
        tries: 0,
        acknowledged: 0,
        lost: 0,
        result: 'skipped: no mount',
      });
      return;
    }
    const dataDir = join(disk.dir, 'data');
    const metricsPort = await freePort();
    const calendar = await startCalendarProcess(dataDir, [
      '--round-interval',
      '20',
      '--log-level',
      'warn',
      '--metrics-listen',
      `127.0.0.1:${metricsPort}`,
    ]);
    const url = calendar.url;
    const metricsUrl = `http://127.0.0.1:${metricsPort}`;
    const load = postDigests(() => url, 8);
    const seen = { refused: 0, outageSeconds: 0, recoverySeconds: 0 };
    try {
      for (let fill = 0; fill < FILLS; fill++) {
        await waitFor('digests acknowledged', () => (load.acks.length > 50 * (fill + 1) ? true : undefined));
        await disk.fill();
        const filledAt = Date.now();
        // the journal or the index fails its next write: from then on every digest gets the same 503
        const refusal = await waitFor(
          'a digest refused for want of space',
          async () => {
            const answer = await post(url);
            return answer.status === 503 ? answer : undefined;
          },
          30_000,
          calendar.output,
        );
        assert.equal(refusal.text, HttpErrors.JOURNAL_UNAVAILABLE.text);
        const down = await health(url);
        assert.equal(down.status, 503);
        assert.match(down.journal.unavailable?.reason ?? '', /(ENOSPC|no space left|Input\/output error)/i);
        assert.ok(down.warnings.some((w) => w.startsWith('the journal cannot write')));
        assert.equal(await metric(metricsUrl, 'otsd_journal_unavailable'), 1);
        const status = await runCliAsync(['status', '--url', url]);
        assert.equal(status.status, 1);
        assert.match(status.stdout, /^WARNING {6}the journal cannot write/m);
        assert.match(status.stderr, /not taking digests: its journal cannot write/);
        // it stays so while the disk is full: no write gets through, nothing is acknowledged
        await sleep(1000);
        assert.equal((await post(url)).status, 503);
        seen.refused = load.counts.refused;

        await disk.free();
        const freedAt = Date.now();
        seen.outageSeconds = Math.round((freedAt - filledAt) / 1000);
        await waitFor('digests taken again, without a restart', async () =>
          (await post(url)).status === 200 ? true : undefined,
        );
        seen.recoverySeconds = (Date.now() - freedAt) / 1000;
        assert.equal((await health(url)).status, 200);
        assert.equal(await metric(metricsUrl, 'otsd_journal_unavailable'), 0);
      }
      await sleep(500);
    } finally {
      await load.stop();
    }
    const lostDigests = new Set((await lostOverHttp(url, load.acks)).map((a) => a.digest));
    assert.equal(await calendar.stop('SIGTERM'), 0);
    for (const a of await lostInDataDir(dataDir, load.acks)) lostDigests.add(a.digest);
    const lost = lostDigests.size;
    reportFault({
      case: 'a small disk (16 MiB tmpfs) filled, then freed',
      tries: FILLS,
      acknowledged: load.acks.length,
      lost,
      result: `${lost === 0 ? 'ok' : 'FAIL'}: ${seen.refused} answered 503, writing again ${seen.recoverySeconds.toFixed(1)} s after space was freed`,
    });
    assert.equal(lost, 0);
  });
});
