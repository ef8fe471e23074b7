/**
 * Mirrors on loopback: a calendar and two mirrors, one following the other, serve the same proofs
 * byte for byte and stay within a second or two of the calendar; a modified record is refused every
 * time, without touching what the mirror verified, until the upstream serves honest data again; a
 * fork stops a mirror for good; a mirror killed mid-sync resumes where its journal ends. (Every
 * tampering mode of the reliability report: test/faults/tampering.test.ts.) The otsd/mirror library
 * holds its directory as otsd does.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import type { Lookup } from '../../src/calendar/calendar.js';
import type { CalendarNode } from '../../src/daemon/calendar-node.js';
import { verifyJournal } from '../../src/journal/verify.js';
import { DataDirInUseError, openMirror } from '../../src/mirror/index.js';
import { MAX_SHARED_PREFIX } from '../../src/mirror/verify-record.js';
import { type PendingAttestation, Timestamp, toHex } from '../../src/ots/index.js';
import { proveRecords, startTestNode } from '../helpers/calendar-node.js';
import { startCalendarProcess } from '../helpers/calendar-process.js';
import { freePort } from '../helpers/free-port.js';
import { indexContents, indexDifference } from '../helpers/index-contents.js';
import { startTamperingProxy } from '../helpers/tampering-proxy.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';

/** A calendar, or a mirror of `mirrorOf` (whose made-up proofs reach no chain: headers unchecked). */
function startNode(
  t: TestContext,
  options: { mirrorOf?: string; dataDir?: string; aggregate?: boolean } = {},
): Promise<CalendarNode> {
  return startTestNode(t, {
    ...(options.dataDir && { dataDir: options.dataDir }),
    ...(options.mirrorOf && { mirrorOf: options.mirrorOf, mirrorHeaders: 'insecure-none' as const }),
    ...(options.aggregate && { mirrorAggregates: { upstreamTimeoutMs: 1000 } }),
  });
}

/** Commits `n` random tips and proves the first half of them. */
async function fill(node: CalendarNode, n: number): Promise<string[]> {
  const tips = Array.from({ length: n }, () => crypto.getRandomValues(new Uint8Array(32)));
  const first = node.calendar.journal.head.records;
  await Promise.all(tips.map((tip) => node.calendar.commit(tip)));
  await proveRecords(
    node,
    Array.from({ length: Math.ceil(n / 2) }, (_, i) => first + i),
  );
  return tips.map(toHex);
}

const answers = (url: string, commitments: string[]) =>
  Promise.all(
    commitments.map(async (c) => {
      const res = await fetch(`${url}/timestamp/${c}`);
      return `${res.status} ${toHex(new Uint8Array(await res.arrayBuffer()))}`;
    }),
  );

const caughtUp = (mirror: CalendarNode, upstream: CalendarNode) =>
  mirror.calendar.journal.head.records === upstream.calendar.journal.head.records ? true : undefined;

describe('the otsd/mirror library', () => {
  it('copies a calendar into a directory, then answers lookups offline', async (t) => {
    const calendar = await startNode(t);
    const commitments = await fill(calendar, 40);
    const expected = await Promise.all(
      commitments.map(async (c) => lookupBytes(await calendar.calendar.lookup(Buffer.from(c, 'hex')))),
    );
    const mirror = await openMirror({
      dir: tempDir(t),
      upstream: calendar.url,
      insecureSkipAttestationCheck: true,
    });
    assert.equal(await mirror.sync(), calendar.calendar.journal.head.records);
    await calendar.close();
    const offline = await Promise.all(
      commitments.map(async (c) => lookupBytes(await mirror.lookup(Buffer.from(c, 'hex')))),
    );
    assert.deepEqual(offline, expected);
    await mirror.close();
  });

  it('holds its directory: a second openMirror, or an otsd, is refused there until it closes', async (t) => {
    const calendar = await startNode(t);
    const dir = tempDir(t);
    const open = () => openMirror({ dir, upstream: calendar.url, insecureSkipAttestationCheck: true });
    const first = await open();
    await assert.rejects(open(), (e: Error) => {
      assert.ok(e instanceof DataDirInUseError, String(e));
      assert.match(e.message, /is in use by another otsd/);
      return true;
    });
    await assert.rejects(startNode(t, { dataDir: dir, mirrorOf: calendar.url }), DataDirInUseError);
    await first.close();
    const node = await startNode(t, { dataDir: dir, mirrorOf: calendar.url });
    await assert.rejects(open(), DataDirInUseError);
    await node.close();
    await (await open()).close();
  });
});

function lookupBytes(lookup: Lookup): string {
  return lookup.state === 'found' ? toHex(lookup.timestamp.toBytes()) : lookup.state;
}

describe('mirroring', () => {
  it('two mirrors in a chain serve the calendar proofs byte for byte, within seconds', async (t) => {
    const calendar = await startNode(t);
    const commitments = await fill(calendar, 600);
    const first = await startNode(t, { mirrorOf: calendar.url });
    const second = await startNode(t, { mirrorOf: first.url });
    await waitFor(
      'the mirrors to catch up',
      () => caughtUp(second, calendar) && caughtUp(first, calendar),
      30_000,
    );
    const expected = await answers(calendar.url, commitments);
    assert.equal(expected.filter((a) => a.startsWith('200')).length, 300);
    assert.deepEqual(await answers(first.url, commitments), expected);
    assert.deepEqual(await answers(second.url, commitments), expected);

    // new records reach both mirrors through the long poll
    const started = Date.now();
    const more = await fill(calendar, 5);
    await waitFor('the new records on both mirrors', () => caughtUp(second, calendar), 10_000);
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
    assert.deepEqual(await answers(second.url, more), await answers(calendar.url, more));

    const status = (await (await fetch(second.url, { headers: { accept: 'application/json' } })).json()) as {
      mirror: { upstream: string; lag_records: number };
    };
    assert.equal(status.mirror.upstream, first.url);
    assert.equal(status.mirror.lag_records, 0);
    const post = await fetch(`${first.url}/digest`, { method: 'POST', body: new Uint8Array(32) });
    assert.equal(post.status, 404);
  });

  it('serves the first proof of a commitment: a second proof changes no served byte, on the calendar and its mirror', async (t) => {
    const calendar = await startNode(t);
    const commitments = await fill(calendar, 10);
    const mirror = await startNode(t, { mirrorOf: calendar.url });
    await waitFor('the mirror to catch up', () => caughtUp(mirror, calendar));
    const before = await answers(calendar.url, commitments);
    assert.equal(before.filter((a) => a.startsWith('200')).length, 5);
    assert.deepEqual(await answers(mirror.url, commitments), before);
    // a second source proves records 2..7: three already proven, three not yet
    await proveRecords(calendar, [2, 3, 4, 5, 6, 7], 5000);
    await waitFor('the mirror to copy the second proof', () => caughtUp(mirror, calendar));
    const after = await answers(calendar.url, commitments);
    assert.deepEqual(after.slice(0, 5), before.slice(0, 5), 'proven commitments: the same bytes');
    assert.deepEqual(
      after.map((a) => a.slice(0, 3)),
      ['200', '200', '200', '200', '200', '200', '200', '200', '404', '404'],
    );
    assert.deepEqual(await answers(mirror.url, commitments), after);
  });

  it('serves immutable full chunks and a short-lived last one', async (t) => {
    const calendar = await startNode(t);
    await fill(calendar, 300);
    const full = await fetch(`${calendar.url}/journal/chunk/0`);
    assert.equal(full.status, 200);
    assert.equal(full.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    const etag = full.headers.get('etag') as string;
    assert.equal(
      (await fetch(`${calendar.url}/journal/chunk/0`, { headers: { 'if-none-match': etag } })).status,
      304,
    );
    const last = await fetch(`${calendar.url}/journal/chunk/1`);
    assert.equal(last.headers.get('cache-control'), 'no-cache');
    assert.equal((await fetch(`${calendar.url}/journal/chunk/2`)).status, 404);
    const head = (await (await fetch(`${calendar.url}/journal/head`)).json()) as {
      records: number;
      chain_hash: string;
    };
    assert.equal(head.records, 301);
    assert.equal(head.chain_hash, toHex(calendar.calendar.journal.head.chainHash));
  });

  it('refuses a modified record every time, keeps what it verified, and follows again once it is honest', async (t) => {
    const calendar = await startNode(t);
    await fill(calendar, 10);
    const proxy = await startTamperingProxy(t, calendar.url);
    proxy.mode = 'flip';
    const victim = await startNode(t, { mirrorOf: proxy.url });
    await waitFor('two refusals', () => ((victim.mirror?.status().refusals ?? 0) >= 2 ? true : undefined));
    const status = victim.mirror?.status();
    assert.equal(status?.state, 'refusing');
    assert.match(
      status?.lastRefusal?.reason ?? '',
      /record \d+: chain hash [0-9a-f]+ does not match the computed/,
    );
    assert.equal(status?.fork, undefined);
    assert.equal(victim.calendar.journal.head.records, 0, 'nothing from the bad chunk was kept');
    proxy.mode = 'honest';
    await waitFor('the mirror to catch up', () => caughtUp(victim, calendar), 30_000);
    assert.equal(victim.mirror?.status().state, 'following');
  });

  it('downloading chunks ahead, keeps the chunks that verified before a modified one', async (t) => {
    const calendar = await startNode(t);
    await fill(calendar, 600);
    const proxy = await startTamperingProxy(t, calendar.url);
    proxy.mode = 'flip';
    proxy.chunks = (chunk) => chunk === 1;
    const victim = await startNode(t, { mirrorOf: proxy.url });
    const refused = await waitFor('the refusal', () => victim.mirror?.status().lastRefusal?.reason);
    // the flipped byte (100) lies in the second record of chunk 1 (commitment records are all one size)
    assert.match(
      refused,
      /^upstream chunk 1: record 257: chain hash [0-9a-f]{64} does not match the computed [0-9a-f]{64}$/,
    );
    assert.equal(victim.calendar.journal.head.records, 256, 'chunk 0 kept, nothing of chunk 1 or after');
    const chunk1 = calendar.calendar.index.chunkStart(1);
    assert.ok(chunk1);
    assert.equal(
      toHex(victim.calendar.journal.head.chainHash),
      toHex(await calendar.calendar.journal.chainHashBefore(chunk1)),
    );
  });

  it('a chunk that ends early at a record boundary is refused at its first download, naming it; what verified is kept', async (t) => {
    const calendar = await startNode(t);
    await fill(calendar, 600);
    const proxy = await startTamperingProxy(t, calendar.url);
    proxy.mode = 'short';
    proxy.chunks = (chunk) => chunk === 1;
    // chunk 1 is commitment records only, each 69 bytes: it ends after 100 whole records
    proxy.shortAt = () => 100 * 69;
    const mirror = await openMirror({
      dir: tempDir(t),
      upstream: proxy.url,
      insecureSkipAttestationCheck: true,
    });
    t.after(() => mirror.close());
    const records = calendar.calendar.journal.head.records;
    await assert.rejects(
      mirror.sync(),
      new RegExp(
        `^MirrorIntegrityError: upstream chunk 1 ends at record 355 although its head has ${records} records$`,
      ),
    );
    assert.equal(mirror.calendar.journal.head.records, 356, 'chunk 0 and the records of chunk 1 kept');
    // chunks 0 to 2 once each (chunk 1 twice, and chunk 2 blamed for it, before)
    assert.equal(proxy.requests.chunks, Math.ceil(records / 256));
  });

  it('refuses commitments sharing their 6-byte prefix past MAX_SHARED_PREFIX, in one sync or across syncs', async (t) => {
    // an upstream that writes commitments sharing the prefix the index keeps (no round tip does):
    // each would make every later insert and lookup of that prefix read them all from the journal
    const calendar = await startNode(t);
    const sharing = (i: number) => new Uint8Array([0xde, 0xad, 0xbe, 0xef, 0, 1, i, ...new Uint8Array(25)]);
    await fill(calendar, 300);
    for (let i = 0; i < MAX_SHARED_PREFIX - 2; i++) await calendar.calendar.commit(sharing(i));
    const mirror = await openMirror({
      dir: tempDir(t),
      upstream: calendar.url,
      insecureSkipAttestationCheck: true,
    });
    t.after(() => mirror.close());
    await mirror.sync();
    // three more: two take it to MAX_SHARED_PREFIX (indexed ones and this sync's counted together),
    // the third is refused
    const held = calendar.calendar.journal.head.records;
    for (const i of [100, 101, 102]) await calendar.calendar.commit(sharing(i));
    await assert.rejects(
      mirror.sync(),
      new RegExp(
        `^MirrorIntegrityError: upstream record ${held + 2}: commitment deadbeef0001.* shares its first 6 bytes with ${MAX_SHARED_PREFIX} others`,
      ),
    );
    assert.equal(mirror.calendar.journal.head.records, held, 'the chunks before it kept, none of its chunk');
    assert.equal(mirror.calendar.index.sharingPrefix(sharing(0), 100), MAX_SHARED_PREFIX - 2);
  });

  it('appends the chunks of a sync in one group (one write, one index transaction)', async (t) => {
    const calendar = await startNode(t);
    await fill(calendar, 3000);
    const mirror = await openMirror({
      dir: tempDir(t),
      upstream: calendar.url,
      insecureSkipAttestationCheck: true,
    });
    t.after(() => mirror.close());
    const batches: number[] = [];
    mirror.calendar.journal.onAppend((records) => batches.push(records.length));
    assert.equal(await mirror.sync(), calendar.calendar.journal.head.records);
    // twelve chunks (two batches for every eight chunks before)
    assert.deepEqual(batches, [calendar.calendar.journal.head.records]);
  });

  it('indexes each proof from the tree it built to check it, entry for entry as a rebuild does', async (t) => {
    const calendar = await startNode(t);
    for (const n of [300, 7, 1]) await fill(calendar, n); // trees of 150, 4 and 1 leaves
    const dir = tempDir(t);
    const mirror = await openMirror({ dir, upstream: calendar.url, insecureSkipAttestationCheck: true });
    const offered: number[] = [];
    const offer = mirror.calendar.index.offerProofTrees.bind(mirror.calendar.index);
    mirror.calendar.index.offerProofTrees = (trees) => {
      offered.push(...(trees?.keys() ?? []));
      offer(trees);
    };
    assert.equal(await mirror.sync(), calendar.calendar.journal.head.records);
    await mirror.close();
    assert.deepEqual(offered, [300, 308, 310]);
    const synced = await indexContents(join(dir, 'index'));
    const again = await openMirror({ dir, upstream: calendar.url, insecureSkipAttestationCheck: true });
    await again.calendar.reindex();
    await again.close();
    assert.equal(indexDifference(await indexContents(join(dir, 'index')), synced, ['meta']), undefined);
    // levels of 150, 75, 38, 19, 10, 5, 3, 2, 1 nodes (32 to an entry); 4, 2, 1; 1
    assert.equal(synced.get('tree')?.length, 5 + 3 + 2 + 6 + 3 + 1);
  });

  it('stops for good when the upstream journal forks from its copy, and says so', async (t) => {
    const calendar = await startNode(t);
    await fill(calendar, 4);
    const dataDir = tempDir(t);
    let mirror = await startNode(t, { mirrorOf: calendar.url, dataDir });
    await waitFor('the mirror to catch up', () => caughtUp(mirror, calendar));
    await mirror.close();
    const other = await startNode(t);
    await fill(other, 8);
    mirror = await startNode(t, { mirrorOf: other.url, dataDir });
    const fork = await waitFor('the fork to be found', () => mirror.mirror?.status().fork);
    assert.match(
      fork,
      /^upstream record 0 differs from ours and follows from the start of the journal: the upstream's history forks/,
    );
    assert.equal(mirror.mirror?.status().state, 'stopped');
    assert.equal(mirror.calendar.journal.head.records, 5);
    const page = await (await fetch(`${mirror.url}/status`)).text();
    assert.match(page, /stopped following for good<\/strong>: upstream record 0 differs from ours/);
  });

  it('rides out an upstream that goes away and comes back, and connections cut mid-chunk', async (t) => {
    const upstreamDir = tempDir(t);
    const upstreamPort = await freePort();
    let upstream = await startCalendarProcess(
      upstreamDir,
      ['--round-interval', '10', '--log-level', 'warn'],
      upstreamPort,
    );
    const post = async () => {
      for (let i = 0; i < 300; i++)
        await fetch(`${upstream.url}/digest`, {
          method: 'POST',
          body: crypto.getRandomValues(new Uint8Array(32)),
        });
    };
    await post();
    // each chunk's first download cut halfway, with its Content-Length whole (cutting every other
    // download instead cut chunk 0 every time: a sync asks for its chunks in order, two of them here)
    const proxy = await startTamperingProxy(t, upstream.url);
    const cut = new Set<number>();
    proxy.mode = 'cut';
    proxy.chunks = (chunk) => !cut.has(chunk) && cut.add(chunk) !== undefined;
    const mirror = await startNode(t, { mirrorOf: proxy.url });
    const upstreamRecords = async () =>
      ((await (await fetch(`${upstream.url}/journal/head`)).json()) as { records: number }).records;
    const target = await upstreamRecords();
    await waitFor(
      'the mirror through cut connections',
      () => (mirror.calendar.journal.head.records === target ? true : undefined),
      30_000,
    );
    assert.ok(proxy.tampered > 1, 'chunks were cut');

    assert.equal(await upstream.stop('SIGTERM'), 0);
    await waitFor('the mirror to miss its upstream', () =>
      mirror.mirror?.status().state === 'unreachable' ? true : undefined,
    );
    upstream = await startCalendarProcess(
      upstreamDir,
      ['--round-interval', '10', '--log-level', 'warn'],
      upstreamPort,
    );
    t.after(() => upstream.stop());
    await post();
    const after = await upstreamRecords();
    await waitFor(
      'the mirror after the restart',
      () => (mirror.calendar.journal.head.records === after ? true : undefined),
      60_000,
    );
    // a cut connection is a transport failure, not data refused
    assert.equal(mirror.mirror?.status().refusals, 0);
  });

  it('resumes after a SIGKILL mid-sync with no missing or duplicate record', async (t) => {
    const calendar = await startNode(t);
    for (let i = 0; i < 6; i++) await fill(calendar, 1000);
    const dataDir = tempDir(t);
    const port = await freePort();
    for (let kill = 0; kill < 2; kill++) {
      const mirror = await startCalendarProcess(
        dataDir,
        [
          '--role',
          'mirror',
          '--upstream',
          calendar.url,
          '--mirror-headers',
          'insecure-none',
          '--log-level',
          'warn',
        ],
        port,
      );
      await new Promise((resolve) => setTimeout(resolve, 150 + kill * 150));
      mirror.child.kill('SIGKILL');
      await mirror.stop();
    }
    const mirror = await startCalendarProcess(
      dataDir,
      [
        '--role',
        'mirror',
        '--upstream',
        calendar.url,
        '--mirror-headers',
        'insecure-none',
        '--log-level',
        'warn',
      ],
      port,
    );
    t.after(() => mirror.stop());
    await waitFor(
      'the mirror to catch up',
      async () => {
        const head = (await (await fetch(`${mirror.url}/journal/head`)).json()) as {
          records: number;
          chain_hash: string;
        };
        return head.records === calendar.calendar.journal.head.records ? head : undefined;
      },
      60_000,
    );
    const head = (await (await fetch(`${mirror.url}/journal/head`)).json()) as { chain_hash: string };
    assert.equal(head.chain_hash, toHex(calendar.calendar.journal.head.chainHash));
    assert.equal(await mirror.stop('SIGTERM'), 0);
    const verified = await verifyJournal(join(dataDir, 'journal'));
    assert.deepEqual([verified.ok, verified.records], [true, calendar.calendar.journal.head.records]);
  });
});

describe('a mirror that aggregates', () => {
  it('submits its rounds to its calendar; clients upgrade from the mirror or the calendar alike', async (t) => {
    const calendar = await startNode(t);
    const mirror = await startNode(t, { mirrorOf: calendar.url, aggregate: true });
    const digests = Array.from({ length: 3 }, () => crypto.getRandomValues(new Uint8Array(32)));
    const commitments = await Promise.all(
      digests.map(async (digest) => {
        const res = await fetch(`${mirror.url}/digest`, { method: 'POST', body: digest });
        assert.equal(res.status, 200);
        const attestations = [
          ...Timestamp.fromBytes(digest, new Uint8Array(await res.arrayBuffer())).allAttestations(),
        ];
        assert.equal(attestations.length, 1);
        const [commitment, attestation] = attestations[0] as [Uint8Array, PendingAttestation];
        assert.equal(attestation.uri, calendar.calendar.uri);
        return toHex(commitment);
      }),
    );
    // the calendar proves what it holds, and the mirror copies it: the same answers from both
    const records = calendar.calendar.journal.head.records;
    await proveRecords(
      calendar,
      Array.from({ length: records }, (_, i) => i),
    );
    await waitFor('the mirror', () => caughtUp(mirror, calendar));
    const fromCalendar = await answers(calendar.url, commitments);
    assert.ok(fromCalendar.every((a) => a.startsWith('200 ')));
    assert.deepEqual(await answers(mirror.url, commitments), fromCalendar);
    const status = (await (await fetch(mirror.url, { headers: { accept: 'application/json' } })).json()) as {
      role: string;
      upstreams: { url: string; failures: number }[];
    };
    assert.equal(status.role, 'mirror');
    assert.deepEqual(
      status.upstreams.map((u) => [u.url, u.failures]),
      [[calendar.url, 0]],
    );
    // the calendar gone, the mirror still serves proofs but takes no digest it could not pass on
    await calendar.close();
    const refused = await fetch(`${mirror.url}/digest`, { method: 'POST', body: digests[0] as Uint8Array });
    assert.equal(refused.status, 503);
    assert.equal((await answers(mirror.url, commitments.slice(0, 1)))[0], fromCalendar[0]);
  });

  it('otsd run --role mirror --aggregate takes digests for its calendar', async (t) => {
    const calendar = await startCalendarProcess(tempDir(t), [
      '--round-interval',
      '20',
      '--log-level',
      'warn',
    ]);
    t.after(() => calendar.stop());
    const mirror = await startCalendarProcess(tempDir(t), [
      '--role',
      'mirror',
      '--upstream',
      calendar.url,
      '--aggregate',
      '--round-interval',
      '20',
      '--mirror-headers',
      'insecure-none',
      '--log-level',
      'warn',
    ]);
    t.after(() => mirror.stop());
    const digest = crypto.getRandomValues(new Uint8Array(32));
    const res = await fetch(`${mirror.url}/digest`, { method: 'POST', body: digest });
    assert.equal(res.status, 200);
    const [only] = [
      ...Timestamp.fromBytes(digest, new Uint8Array(await res.arrayBuffer())).allAttestations(),
    ];
    assert.equal(String(only?.[1]), `PendingAttestation('${calendar.url}')`);
  });
});
