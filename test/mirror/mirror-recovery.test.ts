/**
 * A mirror before a misbehaving upstream (the FAKE tampering proxy before a real calendar) recovers by
 * itself and says what it sees: a cache's stale snapshot (an older head with its chunk, a prefix of
 * the history mirrored) is refused and retried, not taken for a fork; a byte flipped in the first
 * record of every chunk costs one chunk more per refusal, not all of them; an unreachable upstream
 * shows in the status and the metrics, its lag unknown rather than frozen; a long poll answered at
 * once draws no busy loop.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CalendarNode } from '../../src/daemon/calendar-node.js';
import { CHUNK_RECORDS } from '../../src/journal/chunk.js';
import { startTestNode } from '../helpers/calendar-node.js';
import { startTamperingProxy } from '../helpers/tampering-proxy.js';
import { waitFor } from '../helpers/wait-for.js';

const records = (node: CalendarNode) => node.calendar.journal.head.records;

async function commit(calendar: CalendarNode, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await calendar.calendar.commit(crypto.getRandomValues(new Uint8Array(32)));
}

const inSync = (mirror: CalendarNode, calendar: CalendarNode) => () =>
  records(mirror) === records(calendar) ? true : undefined;

/** A calendar with `n` records, and a mirror of it through the proxy, in sync. */
async function mirrored(t: Parameters<typeof startTestNode>[0], n: number) {
  const calendar = await startTestNode(t, { roundIntervalMs: 50 });
  await commit(calendar, n);
  const proxy = await startTamperingProxy(t, calendar.url);
  const mirror = await startTestNode(t, {
    mirrorOf: proxy.url,
    mirrorHeaders: 'insecure-none',
    metrics: { host: '127.0.0.1', port: 0 },
  });
  await waitFor('the mirror in sync', inSync(mirror, calendar), 120_000);
  return { calendar, proxy, mirror };
}

describe('a mirror recovers from its upstream by itself', () => {
  it('refuses a stale snapshot (fewer records, each of them its own) and follows again: no fork', async (t) => {
    const { calendar, proxy, mirror } = await mirrored(t, 300);
    await proxy.remember('/journal/head');
    await proxy.remember('/journal/chunk/1');
    await commit(calendar, 30);
    await waitFor('the mirror past the snapshot', inSync(mirror, calendar));
    const before = mirror.mirror?.status().refusals ?? 0;
    proxy.mode = 'snapshot';
    await commit(calendar, 5);
    await waitFor('a refusal', () => ((mirror.mirror?.status().refusals ?? 0) > before ? true : undefined));
    const during = mirror.mirror?.status();
    assert.equal(during?.state, 'refusing');
    assert.match(
      during?.lastRefusal?.reason ?? '',
      /^upstream has 300 records, fewer than the 3\d\d already mirrored, each of them ours/,
    );
    proxy.mode = 'honest';
    await commit(calendar, 5);
    await waitFor('following again', inSync(mirror, calendar), 90_000);
    assert.equal(mirror.mirror?.status().fork, undefined);
  });

  it('a byte flipped in the first record of every chunk costs one chunk more per refusal', async (t) => {
    const { calendar, proxy, mirror } = await mirrored(t, CHUNK_RECORDS * 10 + 10);
    proxy.mode = 'flip';
    proxy.flipAt = () => 10;
    const chunksBefore = proxy.requests.chunks;
    const before = mirror.mirror?.status().refusals ?? 0;
    await commit(calendar, 3);
    await waitFor(
      'two refusals',
      () => ((mirror.mirror?.status().refusals ?? 0) >= before + 2 ? true : undefined),
      60_000,
    );
    const refusals = (mirror.mirror?.status().refusals ?? 0) - before;
    const perRefusal = (proxy.requests.chunks - chunksBefore) / refusals;
    // the chunk refused and the one before it (11 before the fix: every chunk down to the first)
    assert.ok(perRefusal <= 3, `${perRefusal} chunk downloads per refusal`);
    assert.match(mirror.mirror?.status().lastRefusal?.reason ?? '', /^upstream chunk 10: record 2560: /);
    proxy.mode = 'honest';
    await waitFor('following again', inSync(mirror, calendar), 90_000);
  });

  it('an unreachable upstream shows in the status and the metrics; its lag is unknown, not frozen', async (t) => {
    const { calendar, proxy, mirror } = await mirrored(t, 20);
    proxy.mode = 'down';
    await commit(calendar, 200);
    await waitFor('unreachable', () => (mirror.mirror?.status().state === 'unreachable' ? true : undefined));
    await sleep(2500);
    const status = mirror.mirror?.status();
    assert.equal(status?.lagRecords, undefined);
    assert.ok((status?.lastSyncAgeSeconds ?? 0) >= 2);
    const metrics = await (await fetch(String(mirror.metricsUrl))).text();
    assert.match(metrics, /^otsd_mirror_state\{state="unreachable"\} 1$/m);
    assert.match(metrics, /^otsd_mirror_state\{state="following"\} 0$/m);
    assert.match(metrics, /^otsd_mirror_lag_records nan$/im);
    assert.ok(Number(/^otsd_mirror_last_sync_age_seconds (\d+)$/m.exec(metrics)?.[1]) >= 2);
    const page = await (await fetch(`${mirror.url}/status`)).text();
    assert.match(page, /<th>Mirror lag<\/th><td>unknown: last in sync \d+m \d+s ago<\/td>/);
    proxy.mode = 'honest';
    await waitFor('following again', inSync(mirror, calendar), 90_000);
    assert.equal(mirror.mirror?.status().lagRecords, 0);
  });

  it('does not busy-loop when its long poll is answered at once', async (t) => {
    const { calendar, proxy, mirror } = await mirrored(t, 20);
    proxy.mode = 'no-wait';
    await commit(calendar, 1);
    await waitFor('in sync', inSync(mirror, calendar));
    const heads = proxy.requests.head;
    await sleep(3000);
    const perSecond = (proxy.requests.head - heads) / 3;
    // a head and a long poll per second at most (some 400 a second before)
    assert.ok(perSecond <= 3, `${perSecond} head requests a second`);
    assert.equal(mirror.mirror?.status().state, 'following');
  });
});
