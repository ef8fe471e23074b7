/**
 * The tampering proxy's six modes between a growing calendar and its mirror (the reliability report's
 * section 4), and a seventh: a flipped byte, a cut connection, a body cut short with a matching length,
 * a stale copy of the growing chunk, an old head, both together (a cache's stale snapshot): each is
 * refused (the cut retried as a transport failure) for as long as it lasts, shown on the status page, `otsd status` and the metrics, and the mirror follows
 * again once the proxy is honest, its journal a copy of the calendar's. A fork (another calendar,
 * sharing the first records) stops the mirror for good, and it says so, honest upstream or not.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatStatus } from '../../src/cli/status-command.js';
import type { CalendarNode } from '../../src/daemon/calendar-node.js';
import { CHUNK_RECORDS } from '../../src/journal/chunk.js';
import { toHex } from '../../src/ots/index.js';
import { startTestNode } from '../helpers/calendar-node.js';
import { startTamperingProxy, type Tampering, type TamperingProxy } from '../helpers/tampering-proxy.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';
import { postDigests } from './load.js';
import { scale } from './soak.js';
import { reportFault } from './table.js';

/** Why each mode's answers are refused (a cut connection is retried as a transport failure). */
const REFUSED_FOR: Record<Exclude<Tampering, 'honest' | 'cut' | 'down' | 'no-wait'>, RegExp> = {
  flip: /^upstream chunk \d+: record \d+: chain hash [0-9a-f]{64} does not match the computed/,
  short:
    /^upstream chunk \d+(: record \d+: record of \d+ bytes cut short| ends at record \d+(, before| although its head has))/,
  'stale-chunk': /^upstream chunk \d+ ends at record \d+, before the \d+ records already mirrored$/,
  'old-head': /^the upstream's head says \d+ records .*, but its journal holds our record \d+: a stale head$/,
  snapshot:
    /^(upstream has \d+ records, fewer than the \d+ already mirrored, each of them ours|the upstream's head says \d+ records .*: a stale head$)/,
};

/** Refusals each mode must draw before the proxy is honest again (the backoff doubles each time). */
const REFUSALS = scale(2, 4);

const records = (node: CalendarNode) => node.calendar.journal.head.records;

/** The calendar's chain hash after its record `n - 1`. */
async function chainHashAt(calendar: CalendarNode, n: number): Promise<string> {
  for await (const record of calendar.calendar.journal.read(n - 1)) return toHex(record.chainHash);
  throw new Error(`the calendar has no record ${n - 1}`);
}

/** Whether the mirror's journal is the calendar's first records, byte for byte (its last chain hash says). */
async function isPrefix(mirror: CalendarNode, calendar: CalendarNode): Promise<boolean> {
  const held = records(mirror);
  return toHex(mirror.calendar.journal.head.chainHash) === (await chainHashAt(calendar, held));
}

type StatusJson = Parameters<typeof formatStatus>[0] & {
  mirror: NonNullable<Parameters<typeof formatStatus>[0]['mirror']>;
};

const status = async (node: CalendarNode) =>
  (await (
    await fetch(`${node.url}/status`, { headers: { accept: 'application/json' } })
  ).json()) as StatusJson;

/**
 * Prepares the remembered copies of the stale modes: the mirror's current chunk, or the head, or both
 * (a snapshot), as they are now; then waits until the mirror holds more than they do (within the same chunk, for a chunk).
 */
async function rememberStale(mode: Tampering, proxy: TamperingProxy, mirror: CalendarNode): Promise<void> {
  if (mode === 'old-head') {
    const now = records(mirror);
    await proxy.remember('/journal/head');
    await waitFor('the mirror past the old head', () => (records(mirror) > now + 2 ? true : undefined));
    return;
  }
  for (;;) {
    const chunk = Math.floor(records(mirror) / CHUNK_RECORDS);
    const now = records(mirror);
    if (mode === 'snapshot') await proxy.remember('/journal/head');
    await proxy.remember(`/journal/chunk/${chunk}`);
    await waitFor('the mirror past the stale chunk', () => (records(mirror) > now + 2 ? true : undefined));
    if (Math.floor(records(mirror) / CHUNK_RECORDS) === chunk) return;
  }
}

describe('a tampering proxy before a mirror', () => {
  it('refuses every tampered answer, shows it, and follows again once the proxy is honest; a fork stops it for good', async (t) => {
    const calendar = await startTestNode(t, { roundIntervalMs: 50 });
    const trickle = postDigests(() => calendar.url, 2);
    t.after(() => trickle.stop());
    const proxy = await startTamperingProxy(t, calendar.url);
    const mirror = await startTestNode(t, {
      mirrorOf: proxy.url,
      mirrorHeaders: 'insecure-none',
      metrics: { host: '127.0.0.1', port: 0 },
    });
    await waitFor('the mirror to follow', () => (records(mirror) > 20 ? true : undefined));

    for (const mode of ['flip', 'cut', 'short', 'stale-chunk', 'old-head', 'snapshot'] as const) {
      if (mode === 'stale-chunk' || mode === 'old-head' || mode === 'snapshot')
        await rememberStale(mode, proxy, mirror);
      const before = mirror.mirror?.status().refusals ?? 0;
      const tamperedBefore = proxy.tampered;
      proxy.mode = mode;
      if (mode === 'cut') {
        await waitFor('cut downloads', () =>
          proxy.tampered >= tamperedBefore + REFUSALS ? true : undefined,
        );
        assert.equal(mirror.mirror?.status().refusals, before, 'a cut connection is no refusal');
      } else {
        await waitFor(
          `${mode}: refusals`,
          () => ((mirror.mirror?.status().refusals ?? 0) >= before + REFUSALS ? true : undefined),
          60_000,
        );
        const shown = await status(mirror);
        assert.equal(shown.mirror.state, 'refusing', mode);
        assert.match(shown.mirror.last_refusal ?? '', REFUSED_FOR[mode]);
        assert.equal(shown.mirror.integrity_error, null);
      }
      const refusals = (mirror.mirror?.status().refusals ?? 0) - before;
      const held = records(mirror);
      proxy.mode = 'honest';
      await waitFor(
        `${mode}: following again`,
        () =>
          records(mirror) > held + 2 && mirror.mirror?.status().state === 'following' ? true : undefined,
        60_000,
      );
      const lost = (await isPrefix(mirror, calendar)) ? 0 : records(mirror);
      reportFault({
        case: `tampering proxy: ${mode}`,
        tries: mode === 'cut' ? proxy.tampered - tamperedBefore : refusals,
        acknowledged: records(mirror),
        lost,
        result: `${lost === 0 ? 'ok' : 'FAIL'} (${mode === 'cut' ? 'retried as unreachable' : 'refused'}, then followed again)`,
      });
      assert.equal(lost, 0, `${mode}: the mirror's journal is not the calendar's`);
    }

    // the status page, otsd status and the metrics show the refusals
    const page = await (await fetch(`${mirror.url}/status`)).text();
    assert.match(page, /<th>Upstream data refused<\/th><td>\d+ times since start; last /);
    assert.match(formatStatus(await status(mirror)), /^REFUSED +\d+ times since start, last \d+ s ago: /m);
    const metrics = await (await fetch(String(mirror.metricsUrl))).text();
    const counted = Number(/^otsd_mirror_refusals_total (\d+)$/m.exec(metrics)?.[1]);
    assert.equal(counted, mirror.mirror?.status().refusals);

    // a fork: another calendar whose first records are the calendar's, then its own
    const forkDir = tempDir(t);
    const copy = await startTestNode(t, {
      dataDir: forkDir,
      mirrorOf: calendar.url,
      mirrorHeaders: 'insecure-none',
    });
    await waitFor('the copy', () => (records(copy) >= records(mirror) - 10 ? true : undefined));
    await copy.close();
    const forked = await startTestNode(t, { dataDir: forkDir });
    for (let i = 0; i < 20; i++) await forked.calendar.commit(crypto.getRandomValues(new Uint8Array(32)));
    const held = records(mirror);
    proxy.target = forked.url;
    const fork = await waitFor('the fork', () => mirror.mirror?.status().fork, 60_000);
    proxy.target = calendar.url;
    await sleep(scale(2000, 10_000));
    const after = await status(mirror);
    const lost = (await isPrefix(mirror, calendar)) && records(mirror) >= held ? 0 : held;
    reportFault({
      case: 'tampering proxy: fork (another history)',
      tries: 1,
      acknowledged: records(mirror),
      lost,
      result: `${lost === 0 && after.mirror.state === 'stopped' ? 'ok' : 'FAIL'} (stopped for good, and stays stopped with the honest upstream back)`,
    });
    assert.match(fork, /differs from ours and follows from our record \d+: the upstream's history forks/);
    assert.equal(after.mirror.state, 'stopped');
    assert.equal(after.mirror.integrity_error, fork);
    assert.match(
      await (await fetch(`${mirror.url}/status`)).text(),
      /<strong>stopped following for good<\/strong>: upstream record \d+ differs from ours/,
    );
    assert.match(formatStatus(after), /^STOPPED +upstream record \d+ differs from ours/m);
    assert.match(await (await fetch(String(mirror.metricsUrl))).text(), /^otsd_mirror_stopped 1$/m);
    assert.equal(lost, 0);
  });
});
