/** The calendar client library and `otsd upgrade` against a calendar on loopback filled by the test. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { startAggregatorNode } from '../../src/daemon/aggregator-node.js';
import {
  BitcoinBlockHeaderAttestation,
  DetachedTimestampFile,
  OpSHA256,
  PendingAttestation,
  Timestamp,
  toHex,
  UnknownAttestation,
} from '../../src/ots/index.js';
import {
  anonymousPrefix,
  type CalendarError,
  CoverTraffic,
  pendingCommitment,
  publicReason,
  RemoteCalendar,
  upgradeByPrefix,
} from '../../src/remote/index.js';
import { runCliAsync } from '../cli/run-cli.js';
import { proveRecords, startTestNode } from '../helpers/calendar-node.js';
import { listenOnLoopback } from '../helpers/loopback-server.js';
import { tempDir } from '../helpers/temp-dir.js';

describe('RemoteCalendar', () => {
  it('submits, fetches one timestamp, and fetches by prefix', async (t) => {
    const node = await startTestNode(t, { prefixLimits: { minNibbles: 1, maxEntries: 5000 } });
    const calendar = new RemoteCalendar(`${node.url}/`);
    const digest = crypto.getRandomValues(new Uint8Array(32));
    const submitted = await calendar.submit(digest);
    const pending = submitted.shortestPathTo((a) => a instanceof PendingAttestation);
    assert.ok(pending);
    assert.equal(await calendar.getTimestamp(pending.msg), undefined);
    await proveRecords(node, [0]);
    const proof = await calendar.getTimestamp(pending.msg);
    assert.ok(
      proof && [...proof.allAttestations()].some(([, a]) => a instanceof BitcoinBlockHeaderAttestation),
    );
    const entries = await calendar.getTimestampsByPrefix(toHex(pending.msg).slice(0, 1));
    const own = entries.find((e) => toHex(e.commitment) === toHex(pending.msg));
    assert.equal(own?.complete, true);
    assert.equal(toHex(own?.timestamp.toBytes() as Uint8Array), toHex(proof.toBytes()));
    await assert.rejects(calendar.getTimestampsByPrefix('zz'), /HTTP 400: prefix must be hex digits/);
  });

  it('follows no redirect, and keeps what a calendar sent out of the error summary', async (t) => {
    const asked: string[] = [];
    const internal = createServer((req, res) => {
      asked.push(req.url ?? '');
      res.writeHead(500).end('SECRET internal answer');
    });
    const internalUrl = await listenOnLoopback(t, internal);
    const redirecting = createServer((_req, res) => {
      res.writeHead(302, { location: `${internalUrl}/admin/keys` }).end();
    });
    const calendar = new RemoteCalendar(await listenOnLoopback(t, redirecting), { timeoutMs: 2000 });
    await assert.rejects(calendar.lookup(new Uint8Array(32)), (e: CalendarError) => {
      assert.match(e.message, /redirect/);
      assert.doesNotMatch(e.message, /SECRET/);
      return true;
    });
    assert.deepEqual(asked, []);
    const failing = new RemoteCalendar(internalUrl, { timeoutMs: 2000 });
    await assert.rejects(failing.lookup(new Uint8Array(32)), (e: CalendarError) => {
      assert.equal(e.message, 'timestamp: HTTP 500: SECRET internal answer');
      assert.equal(e.summary, 'timestamp: HTTP 500');
      assert.equal(publicReason(e), 'timestamp: HTTP 500');
      return true;
    });
    // an answer that is no calendar's: what it carries stays out of the public reason
    const answer = new Timestamp(new Uint8Array(32));
    answer.attestations.add(
      new UnknownAttestation(new Uint8Array(8), new TextEncoder().encode('<b>any text on your status</b>')),
    );
    assert.throws(
      () => pendingCommitment(answer),
      (e: Error) => {
        assert.match(e.message, /any text on your status/);
        assert.equal(
          publicReason(e),
          "its answer has 1 attestations; a calendar's has one PendingAttestation",
        );
        return true;
      },
    );
  });

  it('chooses a prefix with an anonymity set of at least k, and finds its own proof in the answer', async (t) => {
    const node = await startTestNode(t, { prefixLimits: { minNibbles: 1, maxEntries: 5000 } });
    // fixed commitments: with random ones the 125 expected under a hex digit fall below 100 about
    // once in a hundred runs (a binomial's spread), and the test would fail for want of luck
    const commitments = Array.from({ length: 2000 }, (_, i) =>
      createHash('sha256').update(`commitment ${i}`).digest(),
    );
    await Promise.all(commitments.map((c) => node.calendar.commit(c)));
    await proveRecords(
      node,
      Array.from({ length: 2000 }, (_, i) => i),
    );
    const calendar = new RemoteCalendar(node.url);
    assert.equal((await calendar.status()).commitments, 2000);
    for (const k of [20, 100]) {
      const target = commitments[k] as Uint8Array;
      const result = await upgradeByPrefix(calendar, target, { k });
      assert.equal(result.prefix.length, 1, `2000 / 16 = 125 commitments per hex digit suits k = ${k}`);
      const sharing = commitments.filter((c) => toHex(c).startsWith(result.prefix)).length;
      assert.equal(result.anonymitySet, sharing, 'the answer holds every commitment under the prefix');
      assert.ok(result.anonymitySet >= k, `anonymity set ${result.anonymitySet} < ${k}`);
      assert.ok(result.timestamp);
      assert.equal(toHex((result.timestamp as Timestamp).msg), toHex(target));
    }
    assert.equal(anonymousPrefix(new Uint8Array(32).fill(0xab), 1_000_000, 10, 2), 'abab');
    assert.equal(anonymousPrefix(new Uint8Array(32).fill(0xab), 10, 10, 2), 'ab');
    await assert.rejects(
      upgradeByPrefix(calendar, commitments[0] as Uint8Array, { prefix: 'x' }),
      /not a prefix/,
    );
  });

  it('tells a commitment it holds (pending, complete) from one it never saw, and a non-calendar from both', async (t) => {
    const node = await startTestNode(t);
    const calendar = new RemoteCalendar(node.url);
    const digest = crypto.getRandomValues(new Uint8Array(32));
    const pending = (await calendar.submit(digest)).shortestPathTo((a) => a instanceof PendingAttestation);
    const commitment = pending?.msg as Uint8Array;
    assert.equal(await calendar.commitmentState(commitment), 'pending');
    assert.deepEqual(await calendar.lookup(commitment), {
      state: 'pending',
      reason: 'Pending confirmation in Bitcoin blockchain',
    });
    assert.equal(await calendar.commitmentState(digest), 'unknown');
    // a submission whose answer leads to a commitment the calendar holds passes the check
    const checked = await calendar.submitChecked(digest);
    assert.equal(toHex(checked.timestamp.msg), toHex(digest));
    await proveRecords(node, [0]);
    assert.equal(await calendar.commitmentState(commitment), 'complete');
    const complete = await calendar.lookup(commitment);
    assert.equal(complete.state === 'complete' && toHex(complete.timestamp.msg), toHex(commitment));
    // a stand-alone aggregator keeps no proofs: it cannot vouch for a commitment
    const aggregator = await startAggregatorNode({
      upstreams: [node.url],
      upstreamTimeoutMs: 1000,
      host: '127.0.0.1',
      port: 0,
      logger: pino({ level: 'silent' }),
    });
    t.after(() => aggregator.close());
    await assert.rejects(
      new RemoteCalendar(aggregator.url).commitmentState(commitment),
      /HTTP 404 that says neither pending nor unknown: this aggregator keeps no proofs/,
    );
  });

  it('sends cover traffic at about the asked rate, and stops', async (t) => {
    const node = await startTestNode(t, { prefixLimits: { minNibbles: 1, maxEntries: 5000 } });
    await node.calendar.commit(new Uint8Array(32).fill(1));
    const cover = new CoverTraffic(new RemoteCalendar(node.url), { perMinute: 3000, nibbles: 2 });
    cover.start();
    await sleep(1000);
    cover.stop();
    const sent = cover.counts.sent;
    assert.ok(sent >= 20 && sent <= 120, `sent ${sent} in a second at 50/s`);
    await sleep(200);
    assert.equal(cover.counts.sent, sent, 'stopped');
    assert.equal(cover.counts.failed, 0);
  });
});

describe('otsd upgrade', () => {
  it('warns when the prefix answer holds fewer commitments than --k asked for', async (t) => {
    const node = await startTestNode(t, { prefixLimits: { minNibbles: 1, maxEntries: 5000 } });
    const submitted = await new RemoteCalendar(node.url).submit(crypto.getRandomValues(new Uint8Array(32)));
    const path = join(tempDir(t), 'file.ots');
    writeFileSync(path, new DetachedTimestampFile(new OpSHA256(), submitted).toBytes());
    // one commitment in the calendar: no prefix can hide it among 50
    const result = await runCliAsync(['upgrade', path, '--k', '50', '--calendar', node.url]);
    assert.match(
      result.stdout,
      new RegExp(
        `^Calendar ${node.url}: warning: only 1 commitment under prefix [0-9a-f], fewer than the 50 asked for \\(--k\\): the calendar can tell this file's commitment from fewer others than that\n`,
      ),
    );
  });

  it('upgrades a file through a prefix query, keeping a backup, and says when it is still pending', async (t) => {
    const node = await startTestNode(t, { prefixLimits: { minNibbles: 1, maxEntries: 5000 } });
    // 18 or 19 commitments under every hex digit, so the --k 10 below never warns whichever digit the
    // file's (random) commitment starts with
    await Promise.all(
      Array.from({ length: 300 }, (_, i) => {
        const commitment = crypto.getRandomValues(new Uint8Array(32));
        commitment[0] = (i % 16) * 16 + ((commitment[0] as number) % 16);
        return node.calendar.commit(commitment);
      }),
    );
    const digest = crypto.getRandomValues(new Uint8Array(32));
    const submitted = await new RemoteCalendar(node.url).submit(digest);
    const path = join(tempDir(t), 'file.ots');
    writeFileSync(path, new DetachedTimestampFile(new OpSHA256(), submitted).toBytes());

    // like the ots client, only calendars on the whitelist are asked: not this one until it is added
    const refused = await runCliAsync(['upgrade', path, '--prefix-bits', '4']);
    assert.equal(refused.status, 1);
    assert.equal(
      refused.stdout,
      `Calendar ${node.url}: not asked, it is not in the whitelist (add it with --calendar ${node.url})\nFailed! Timestamp not complete\n`,
    );
    const before = await runCliAsync(['upgrade', path, '--prefix-bits', '4', '--calendar', node.url]);
    assert.equal(before.status, 1);
    assert.match(
      before.stdout,
      new RegExp(
        `Calendar ${node.url}: pending \\(prefix [0-9a-f], among \\d+ commitments\\)\\nFailed! Timestamp not complete`,
      ),
    );
    assert.equal(existsSync(`${path}.bak`), false);

    const record = node.calendar.journal.head.records - 1;
    await proveRecords(node, [record]);
    const after = await runCliAsync(['upgrade', path, '--k', '10', '--calendar', 'http://127.0.0.1:*']);
    assert.equal(after.status, 0, after.stdout + after.stderr);
    assert.match(
      after.stdout,
      /: complete \(prefix [0-9a-f]+, among \d+ commitments\)\nSuccess! Timestamp complete\n$/,
    );
    assert.doesNotMatch(after.stdout, /warning/);
    assert.ok(existsSync(`${path}.bak`));
    const upgraded = DetachedTimestampFile.fromBytes(readFileSync(path));
    assert.ok(
      [...upgraded.timestamp.allAttestations()].some(([, a]) => a instanceof BitcoinBlockHeaderAttestation),
    );
  });
});
