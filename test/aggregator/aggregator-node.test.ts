/**
 * The aggregator role on loopback, in front of real otsd calendars: each round goes to every upstream
 * and clients get the merged answers; a bad, hanging or absent upstream is left out within the
 * timeout; with no upstream, 503; memory stays bounded; a stop answers every waiting client.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { pino } from 'pino';
import { FAILING_AFTER, UpstreamSink } from '../../src/aggregator/upstream-sink.js';
import { type AggregatorNode, startAggregatorNode } from '../../src/daemon/aggregator-node.js';
import { PendingAttestation, Timestamp, toHex } from '../../src/ots/index.js';
import { RemoteCalendar } from '../../src/remote/calendar-client.js';
import { runCliAsync } from '../cli/run-cli.js';
import { startTestNode } from '../helpers/calendar-node.js';
import { freePort } from '../helpers/free-port.js';
import { type Misbehaviour, startMisbehavingCalendar } from '../helpers/misbehaving-calendar.js';
import { waitFor } from '../helpers/wait-for.js';
import { withOracle } from '../oracle/oracle-test.js';

/**
 * Upstream timeout of every test but the one of a short timeout: a real calendar here answers after its
 * next round, whose journal append waits for an fsync that a shared CI disk can hold for half a second
 * or more, and then the answer's check; it must never miss the timeout for that.
 */
const UPSTREAM_TIMEOUT_MS = 3000;

async function startAggregator(
  t: TestContext,
  upstreams: string[],
  options: { timeoutMs?: number; maxWaitingDigests?: number; roundIntervalMs?: number } = {},
): Promise<AggregatorNode> {
  const node = await startAggregatorNode({
    upstreams,
    upstreamTimeoutMs: options.timeoutMs ?? UPSTREAM_TIMEOUT_MS,
    host: '127.0.0.1',
    port: 0,
    roundIntervalMs: options.roundIntervalMs ?? 50,
    ...(options.maxWaitingDigests !== undefined && { maxWaitingDigests: options.maxWaitingDigests }),
    metrics: { host: '127.0.0.1', port: 0 },
    logger: pino({ level: 'silent' }),
  });
  t.after(() => node.close());
  return node;
}

const randomDigest = () => crypto.getRandomValues(new Uint8Array(32));

async function post(url: string, digest: Uint8Array) {
  const started = performance.now();
  const response = await fetch(`${url}/digest`, { method: 'POST', body: digest });
  const body = new Uint8Array(await response.arrayBuffer());
  return { response, body, ms: performance.now() - started };
}

/** The pending attestations of an answer, by calendar URI, with the commitment each leads to. */
function pendings(digest: Uint8Array, body: Uint8Array): Map<string, Uint8Array> {
  const found = new Map<string, Uint8Array>();
  for (const [msg, attestation] of Timestamp.fromBytes(digest, body).allAttestations()) {
    assert.ok(attestation instanceof PendingAttestation, `unexpected ${attestation}`);
    found.set(attestation.uri, msg);
  }
  return found;
}

type StatusJson = {
  role: string;
  upstreams: { url: string; rounds: number; failures: number; last_error: string | null }[];
};
const status = async (url: string) =>
  (await (await fetch(url, { headers: { accept: 'application/json' } })).json()) as StatusJson;

describe('the aggregator role', () => {
  it('submits each round to every upstream and gives clients the merged answers', async (t) => {
    const [alice, bob] = [await startTestNode(t), await startTestNode(t)];
    const aggregator = await startAggregator(t, [alice.url, bob.url]);
    const digests = Array.from({ length: 20 }, randomDigest);
    const answers = await Promise.all(digests.map((d) => post(aggregator.url, d)));
    for (const [i, { response, body }] of answers.entries()) {
      assert.equal(response.status, 200);
      const found = pendings(digests[i] as Uint8Array, body);
      assert.deepEqual([...found.keys()].sort(), [alice.calendar.uri, bob.calendar.uri].sort());
      // each calendar holds the commitment the client will ask it for
      for (const calendar of [alice, bob]) {
        const commitment = found.get(calendar.calendar.uri) as Uint8Array;
        assert.equal(await new RemoteCalendar(calendar.url).commitmentState(commitment), 'pending');
      }
    }
    // at most one commitment per round on each calendar, however many clients (two early rounds may
    // fall in one round of the calendar's)
    const rounds = aggregator.aggregator.stats.rounds;
    assert.ok(rounds >= 1 && rounds < digests.length, `${rounds} rounds`);
    for (const calendar of [alice, bob]) {
      const commitments = calendar.calendar.index.commitmentCount;
      assert.ok(commitments >= 1 && commitments <= rounds, `${commitments} commitments, ${rounds} rounds`);
    }
    const s = await status(aggregator.url);
    assert.equal(s.role, 'aggregator');
    assert.deepEqual(
      s.upstreams.map((u) => [u.url, u.rounds, u.failures]),
      [
        [alice.url, rounds, 0],
        [bob.url, rounds, 0],
      ],
    );
    const html = await (await fetch(`${aggregator.url}/status`)).text();
    assert.match(html, /<h1>OpenTimestamps aggregator<\/h1>/);
    assert.ok(html.includes(`Upstream <code>${bob.url}</code></th><td>answering`), html);
    const summary = await runCliAsync(['status', '--url', aggregator.url]);
    assert.equal(summary.status, 0, summary.stderr);
    assert.match(
      summary.stdout,
      new RegExp(`^upstream +${alice.url}: ok, \\d+ ms \\(0 of ${rounds} rounds failed\\)$`, 'm'),
    );
    const metrics = await (await fetch(aggregator.metricsUrl as string)).text();
    assert.match(metrics, /otsd_upstream_round_seconds_count\{upstream="[^"]+",outcome="ok"\} \d+/);
    assert.match(metrics, /otsd_upstream_consecutive_failures\{upstream="[^"]+"\} 0/);
  });

  it('keeps its connection to an upstream from round to round', async (t) => {
    const real = await startTestNode(t);
    let connections = 0;
    real.app.server.on('connection', () => connections++);
    const aggregator = await startAggregator(t, [real.url]);
    for (let i = 0; i < 5; i++)
      assert.equal((await post(aggregator.url, randomDigest())).response.status, 200);
    const rounds = aggregator.aggregator.stats.rounds;
    assert.equal(rounds, 5);
    // each round a POST and a GET (the answer check): the GET may go before the POST's connection is
    // back in the pool, so two connections, not one per request
    assert.ok(connections <= 2, `${connections} connections for ${2 * rounds} requests`);
  });

  it('merges the answers of its upstreams exactly as python-opentimestamps merges them for a client', (t) =>
    withOracle(t, async (oracle) => {
      const [alice, bob] = [await startTestNode(t), await startTestNode(t)];
      const recorders = [
        await startMisbehavingCalendar(t, alice.url, 'honest'),
        await startMisbehavingCalendar(t, bob.url, 'honest'),
      ];
      const sink = new UpstreamSink({
        upstreams: recorders.map((r) => r.url),
        timeoutMs: UPSTREAM_TIMEOUT_MS,
      });
      const tip = randomDigest();
      const merged = await sink.commit(tip);
      const parts = recorders.map((r) => toHex(r.answers[0] as Uint8Array));
      const python = await oracle.call({ cmd: 'merge', msg: toHex(tip), parts });
      assert.equal(toHex(merged.toBytes()), python.out);
    }));

  const faults: [Misbehaviour | 'down', RegExp][] = [
    ['garbage', /the answer is not a timestamp: Tried to read/],
    ['other-tip', /which it does not know \(an answer for another digest\?\)/],
    ['endless', /answer of over 10000 bytes is over the limit/],
    ['endless-error', /: HTTP 500$/],
    ['error', /^submit: HTTP 500$/], // the upstream's own text stays off the status
    ['hang', /no answer within 500 ms/],
    ['down', /ECONNREFUSED/],
  ];
  for (const [fault, reason] of faults) {
    it(`leaves out an upstream that ${fault === 'down' ? 'is down' : `answers: ${fault}`}, within the timeout`, async (t) => {
      const good = await startTestNode(t);
      const bad =
        fault === 'down'
          ? `http://127.0.0.1:${await freePort()}`
          : (await startMisbehavingCalendar(t, good.url, fault)).url;
      // short for the hang, which the round waits for until the timeout
      const timeoutMs = fault === 'hang' ? 500 : UPSTREAM_TIMEOUT_MS;
      const aggregator = await startAggregator(t, [good.url, bad], { timeoutMs });
      const digest = randomDigest();
      const { response, body, ms } = await post(aggregator.url, digest);
      // the round interval, the timeout, and slack for a loaded machine: never the hang itself
      assert.ok(ms < 50 + timeoutMs + 2000, `answered after ${ms} ms`);
      const [goodHealth, health] = (await status(aggregator.url)).upstreams;
      assert.equal(health?.failures, 1);
      assert.match(health?.last_error ?? '', reason);
      if (fault === 'hang' && goodHealth?.failures !== 0) {
        // the hang's short timeout is the good calendar's too, which a stall of the machine can make it
        // miss: then it is left out for the same reason, and no upstream took the round
        assert.match(goodHealth?.last_error ?? '', reason);
        assert.equal(response.status, 503);
      } else {
        assert.equal(response.status, 200);
        assert.deepEqual([...pendings(digest, body).keys()], [good.calendar.uri]);
      }
    });
  }

  it('stops waiting for an upstream that keeps failing, and waits for it again once it answers', async (t) => {
    const [good, behindFlaky] = [await startTestNode(t), await startTestNode(t)];
    const flaky = await startMisbehavingCalendar(t, behindFlaky.url, 'hang');
    const aggregator = await startAggregator(t, [good.url, flaky.url]);
    for (let i = 0; i < FAILING_AFTER; i++) {
      const { response, ms } = await post(aggregator.url, randomDigest());
      assert.equal(response.status, 200);
      assert.ok(ms >= UPSTREAM_TIMEOUT_MS, `round ${i} waited ${ms} ms for the hanging upstream`);
    }
    // failing now: still asked every round, but clients no longer wait for it (nor its timeout)
    const digest = randomDigest();
    const quick = await post(aggregator.url, digest);
    assert.ok(quick.ms < UPSTREAM_TIMEOUT_MS, `answered after ${quick.ms} ms`);
    assert.deepEqual([...pendings(digest, quick.body).keys()], [good.calendar.uri]);
    flaky.mode = 'honest';
    await waitFor('its attestation back in the answers', async () => {
      const next = randomDigest();
      return pendings(next, (await post(aggregator.url, next)).body).size === 2 ? true : undefined;
    });
  });

  it('asks a failing upstream at most once an interval, however fast rounds go for the healthy one', async (t) => {
    const good = await startTestNode(t);
    const failing = await startMisbehavingCalendar(t, good.url, 'error');
    // early rounds: each digest below goes as soon as the last is answered, well within the interval
    const aggregator = await startAggregator(t, [good.url, failing.url], { roundIntervalMs: 60_000 });
    for (let i = 0; i < FAILING_AFTER + 6; i++)
      assert.equal((await post(aggregator.url, randomDigest())).response.status, 200);
    assert.equal(failing.posts, FAILING_AFTER, 'asked until it was failing, then not again this interval');
    const health = (await status(aggregator.url)).upstreams[1];
    assert.equal(health?.failures, FAILING_AFTER);
  });

  it('answers 503 while no upstream takes the round, and takes digests again once one does', async (t) => {
    const real = await startTestNode(t);
    const upstream = await startMisbehavingCalendar(t, real.url, 'error');
    const aggregator = await startAggregator(t, [upstream.url]);
    const refused = await post(aggregator.url, randomDigest());
    assert.equal(refused.response.status, 503);
    assert.equal(refused.response.headers.get('retry-after'), '1');
    assert.equal(new TextDecoder().decode(refused.body), 'no upstream calendar took the digest, retry later');
    upstream.mode = 'honest';
    const digest = randomDigest();
    const accepted = await post(aggregator.url, digest);
    assert.equal(accepted.response.status, 200);
    assert.deepEqual([...pendings(digest, accepted.body).keys()], [real.calendar.uri]);
  });

  it('refuses digests past its cap while an upstream hangs, instead of growing', async (t) => {
    const real = await startTestNode(t);
    const upstream = await startMisbehavingCalendar(t, real.url, 'hang');
    const aggregator = await startAggregator(t, [upstream.url], {
      maxWaitingDigests: 4,
      roundIntervalMs: 20,
    });
    // waiting or in rounds that hang, four digests are unanswered: the cap counts both
    const hanging = [1, 2, 3, 4].map(() => post(aggregator.url, randomDigest()));
    while (aggregator.aggregator.unanswered < 4) await new Promise((resolve) => setTimeout(resolve, 10));
    const refused = await post(aggregator.url, randomDigest());
    assert.equal(refused.response.status, 503);
    assert.equal(new TextDecoder().decode(refused.body), 'calendar busy, retry later');
    // the hanging rounds end at the timeout, their clients told to retry; then digests flow again
    assert.deepEqual(
      (await Promise.all(hanging)).map((a) => a.response.status),
      [503, 503, 503, 503],
    );
    upstream.mode = 'honest';
    assert.equal((await post(aggregator.url, randomDigest())).response.status, 200);
  });

  it('on stop, submits and answers every waiting digest', async (t) => {
    const real = await startTestNode(t);
    const aggregator = await startAggregator(t, [real.url], { roundIntervalMs: 5000 });
    const digests = Array.from({ length: 5 }, randomDigest);
    const answers = digests.map((d) => post(aggregator.url, d));
    // taken, but not all answered: in a round at the upstream, or waiting for the next
    const taken = () => aggregator.aggregator.unanswered + aggregator.aggregator.stats.digests;
    while (taken() < digests.length) await new Promise((resolve) => setTimeout(resolve, 10));
    await aggregator.close();
    for (const [i, answer] of (await Promise.all(answers)).entries()) {
      assert.equal(answer.response.status, 200);
      assert.ok(pendings(digests[i] as Uint8Array, answer.body).has(real.calendar.uri));
    }
  });

  it('tells a client asking it for a proof where proofs are', async (t) => {
    const aggregator = await startAggregator(t, [`http://127.0.0.1:${await freePort()}`]);
    const response = await fetch(`${aggregator.url}/timestamp/${'00'.repeat(32)}`);
    assert.equal(response.status, 404);
    assert.match(await response.text(), /keeps no proofs; ask the calendar named in your timestamp/);
  });
});
