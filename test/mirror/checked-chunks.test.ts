/**
 * A sync of many chunks checks them ahead in another thread (checkedChunks): the body of each record
 * and its proofs' trees there; a record it could not check (a proof of commitments it did not read) or
 * one that is wrong is checked again by the follower, which refuses it with the same words as without
 * the thread, keeping the chunks before it; a stop ends the thread and its downloads at once.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { describe, it, type TestContext } from 'node:test';
import type { CalendarNode } from '../../src/daemon/calendar-node.js';
import { CHUNK_RECORDS } from '../../src/journal/chunk.js';
import type { MerkleLevels } from '../../src/journal/merkle-levels.js';
import { encodeProofPayload } from '../../src/journal/proof-payload.js';
import { GENESIS_CHAIN_HASH, RecordKind } from '../../src/journal/record.js';
import {
  type CheckedChunk,
  type CheckedChunksOptions,
  checkedChunks,
} from '../../src/mirror/checked-chunks.js';
import { ChunkSource } from '../../src/mirror/chunk-source.js';
import { type HeaderCheck, type LocalMirror, openMirror } from '../../src/mirror/index.js';
import {
  BitcoinBlockHeaderAttestation,
  MerkleTree,
  OpAppend,
  sha256,
  Timestamp,
  toHex,
} from '../../src/ots/index.js';
import { proveRecords, startTestNode } from '../helpers/calendar-node.js';
import { FAILING_THREAD, THREAD_FAILURES, withFailingThreads } from '../helpers/failing-thread.js';
import { startForgingUpstream } from '../helpers/forging-upstream.js';
import { listenOnLoopback } from '../helpers/loopback-server.js';
import { madeUpJournal, serveMadeUpJournal } from '../helpers/made-up-journal.js';
import { startTamperingProxy } from '../helpers/tampering-proxy.js';
import { tempDir } from '../helpers/temp-dir.js';

/** Past the 16 chunks from which the checks run in another thread. */
const MANY = 20 * CHUNK_RECORDS;

/** Commits `n` random commitments to `node`. */
async function commit(node: CalendarNode, n: number): Promise<void> {
  const tips = Array.from({ length: n }, () => crypto.getRandomValues(new Uint8Array(32)));
  await Promise.all(tips.map((tip) => node.calendar.commit(tip)));
}

/**
 * Every chunk checkedChunks yields for chunks `first` to `end` of `url`, held none of them; `more`
 * adds to its options.
 */
async function collect(
  url: string,
  first: number,
  end: number,
  previous: Uint8Array,
  commitments: number,
  more: Partial<CheckedChunksOptions> = {},
) {
  const chunks: CheckedChunk[] = [];
  const held = { bytes: new Uint8Array(0), previous };
  const options = { source: new ChunkSource(url), first, end, held, commitments, ...more };
  for await (const chunk of checkedChunks(options)) chunks.push(chunk);
  return chunks;
}

const CHUNK_CHECK_THREAD = new URL('../../src/mirror/chunk-check-worker.js', import.meta.url);

const openTestMirror = (t: TestContext, upstream: string, checkHeader?: HeaderCheck) =>
  openMirror({
    dir: tempDir(t),
    upstream,
    ...(checkHeader ? { checkHeader } : { insecureSkipAttestationCheck: true as const }),
  }).then((mirror) => {
    t.after(() => mirror.close());
    return mirror;
  });

/** Has `mirror` follow for `ms`, then stops it: resolves with how long the stop took, in ms. */
async function stopFollowingAfter(mirror: LocalMirror, ms: number): Promise<number> {
  const stop = new AbortController();
  const following = mirror.follow(stop.signal);
  await new Promise((resolve) => setTimeout(resolve, ms));
  const asked = Date.now();
  stop.abort();
  await following;
  return Date.now() - asked;
}

/** An upstream answering from `bodies` (404 for what they lack) that never answers a long poll; counts chunk requests. */
async function serveBodies(t: TestContext, bodies: Map<string, Uint8Array | string>) {
  const served = { chunks: 0 };
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.searchParams.has('after')) return;
    if (url.pathname.startsWith('/journal/chunk/')) served.chunks++;
    const body = bodies.get(url.pathname);
    if (body === undefined) res.writeHead(404).end('not found');
    else res.end(body);
  });
  return { url: await listenOnLoopback(t, server), served };
}

/** `n` made-up commitment records. */
const commitmentRecords = (n: number): [number, Uint8Array][] =>
  Array.from({ length: n }, () => [RecordKind.Commitment, crypto.getRandomValues(new Uint8Array(32))]);

/** A proof record of commitment records `numbers` among `records`. */
function proofRecord(records: [number, Uint8Array][], numbers: number[]): [number, Uint8Array] {
  const tip = new Timestamp(
    new MerkleTree(numbers.map((n) => sha256((records[n] as [number, Uint8Array])[1]))).root,
  );
  tip.attestations.add(new BitcoinBlockHeaderAttestation(800_000));
  return [RecordKind.Proof, encodeProofPayload({ commitments: numbers, tip })];
}

describe('the chunks of a long sync, checked in another thread', () => {
  it('has every body checked there, and the trees of its proofs built; a short sync checks them here', async (t) => {
    const calendar = await startTestNode(t);
    await commit(calendar, MANY - 1);
    await proveRecords(
      calendar,
      Array.from({ length: 3000 }, (_, i) => 100 + i),
    );
    const chunks = await collect(calendar.url, 0, 20, GENESIS_CHAIN_HASH, 0);
    assert.equal(chunks.length, 20);
    const records = chunks.flatMap((c) => c.fresh ?? []);
    assert.equal(records.length, MANY);
    for (const chunk of chunks)
      assert.deepEqual(
        [...(chunk.bodyChecked ?? [])],
        chunk.fresh?.map(() => 1),
        `chunk ${chunk.chunk}`,
      );
    const tree = chunks[19]?.trees.get(MANY - 1);
    assert.equal(tree?.leaves, 3000);
    const proofTip = new MerkleTree(
      Array.from({ length: 3000 }, (_, i) =>
        sha256(calendar.calendar.index.commitmentAt(100 + i) as Uint8Array),
      ),
    ).root;
    assert.equal(toHex(tree?.root ?? new Uint8Array(0)), toHex(proofTip));
    // fewer than 16 chunks: read here, nothing checked ahead
    const short = await collect(calendar.url, 0, 15, GENESIS_CHAIN_HASH, 0);
    assert.equal(short.length, 15);
    assert.ok(short.every((c) => c.bodyChecked === undefined && c.trees.size === 0));
  });

  it('goes on without the thread when it fails, from the chunk after the last it sent', async (t) => {
    const calendar = await startTestNode(t);
    await commit(calendar, MANY - 1);
    await proveRecords(calendar, [5, 6, 7]);
    const records = (chunks: CheckedChunk[]) =>
      chunks.flatMap((c) => (c.fresh ?? []).map((r) => `${r.number} ${r.kind} ${toHex(r.chainHash)}`));
    const expected = records(await collect(calendar.url, 0, 20, GENESIS_CHAIN_HASH, 0));
    for (const [failure, said] of THREAD_FAILURES) {
      const failsAfter = 'at' in failure ? 0 : failure.after;
      const failures: Error[] = [];
      const chunks = await withFailingThreads(CHUNK_CHECK_THREAD, failure, () =>
        collect(calendar.url, 0, 20, GENESIS_CHAIN_HASH, 0, {
          threadScript: FAILING_THREAD,
          onThreadFailure: (e) => failures.push(e),
        }),
      );
      assert.deepEqual(
        chunks.map((c) => c.chunk),
        Array.from({ length: 20 }, (_, i) => i),
        `each chunk once, in order (${said})`,
      );
      assert.deepEqual(records(chunks), expected);
      // checked there before it failed, left to the follower after
      assert.deepEqual(
        chunks.map((c) => c.bodyChecked !== undefined),
        Array.from({ length: 20 }, (_, i) => i < failsAfter),
      );
      assert.deepEqual(
        failures.map((e) => e.message),
        [`mirror: chunk checks: ${said}`],
      );
    }
  });

  it('leaves a proof of commitments it did not read to the follower, which takes it', async (t) => {
    const calendar = await startTestNode(t);
    await commit(calendar, 2 * CHUNK_RECORDS);
    const mirror = await openTestMirror(t, calendar.url);
    assert.equal(await mirror.sync(), 2 * CHUNK_RECORDS);
    await commit(calendar, MANY);
    // a proof of commitments the mirror held before this sync, and one of commitments of this sync
    await proveRecords(calendar, [0, 1, 2, 3]);
    await proveRecords(calendar, [600, 601, 602]);
    const end = Math.ceil(calendar.calendar.journal.head.records / CHUNK_RECORDS);
    const chunks = await collect(
      calendar.url,
      2,
      end,
      mirror.calendar.journal.head.chainHash,
      2 * CHUNK_RECORDS,
    );
    const last = chunks.at(-1) as CheckedChunk;
    const fresh = last.fresh ?? [];
    const proofs = fresh.slice(-2).map((r) => r.number);
    assert.deepEqual(
      fresh.slice(-2).map((r) => r.kind),
      [RecordKind.Proof, RecordKind.Proof],
    );
    assert.deepEqual([...(last.bodyChecked ?? [])].slice(-2), [0, 1], 'the first left to the follower');
    assert.deepEqual([...last.trees.keys()], [proofs[1]]);
    // each tree the index is offered from the thread is a copy, not a view of all its chunk's trees
    const offered: MerkleLevels[] = [];
    const offer = mirror.calendar.index.offerProofTrees.bind(mirror.calendar.index);
    mirror.calendar.index.offerProofTrees = (trees) => {
      offered.push(...(trees?.values() ?? []));
      offer(trees);
    };
    assert.equal(await mirror.sync(), MANY + 2);
    assert.equal(offered.length, 2);
    for (const tree of offered) assert.equal(tree.nodeBytes.buffer.byteLength, tree.byteLength);
    assert.equal(
      toHex(mirror.calendar.journal.head.chainHash),
      toHex(calendar.calendar.journal.head.chainHash),
    );
    assert.equal((await mirror.lookup(mirror.calendar.index.commitmentAt(1) as Uint8Array)).state, 'found');
  });

  it('has the follower refuse a forged proof, as without the thread, keeping the chunks before it', async (t) => {
    const calendar = await startTestNode(t);
    const upstream = await startForgingUpstream(t, calendar.url);
    const records: [number, Uint8Array][] = Array.from({ length: 17 * CHUNK_RECORDS }, () => [
      RecordKind.Commitment,
      crypto.getRandomValues(new Uint8Array(32)),
    ]);
    const tip = new Timestamp(crypto.getRandomValues(new Uint8Array(32)));
    tip.ops
      .add(new OpAppend(new Uint8Array([1])))
      .attestations.add(new BitcoinBlockHeaderAttestation(800_000));
    records.push([RecordKind.Proof, encodeProofPayload({ commitments: [0, 1, 2], tip })]);
    serveMadeUpJournal(upstream, records);
    const mirror = await openTestMirror(t, upstream.url);
    await assert.rejects(
      mirror.sync(),
      new RegExp(
        `^MirrorIntegrityError: upstream record ${17 * CHUNK_RECORDS}: proof tip is not the merkle root of its commitments$`,
      ),
    );
    assert.equal(mirror.calendar.journal.head.records, 17 * CHUNK_RECORDS, 'the chunks before it kept');
  });

  it('has the follower refuse a flipped byte, as without the thread, keeping the chunks before it', async (t) => {
    const calendar = await startTestNode(t);
    await commit(calendar, MANY);
    const proxy = await startTamperingProxy(t, calendar.url);
    proxy.mode = 'flip';
    proxy.chunks = (chunk) => chunk === 17;
    const mirror = await openTestMirror(t, proxy.url);
    // the flipped byte (100) lies in the second record of chunk 17
    await assert.rejects(
      mirror.sync(),
      new RegExp(
        `^MirrorIntegrityError: upstream chunk 17: record ${17 * CHUNK_RECORDS + 1}: chain hash [0-9a-f]{64} does not match the computed [0-9a-f]{64}$`,
      ),
    );
    assert.equal(mirror.calendar.journal.head.records, 17 * CHUNK_RECORDS);
    proxy.mode = 'honest';
    assert.equal(await mirror.sync(), MANY - 17 * CHUNK_RECORDS);
  });

  it('downloads no chunk past one before the last that ends early: empty, or a record short', async (t) => {
    // an upstream whose head says 100 chunks, with empty ones after the first, or one of one record
    const full = madeUpJournal(commitmentRecords(CHUNK_RECORDS));
    for (let k = 1; k < 100; k++) full.set(`/journal/chunk/${k}`, '');
    const empty = await serveBodies(t, full);
    const emptyChunks = await collect(empty.url, 0, 100, GENESIS_CHAIN_HASH, 0);
    assert.deepEqual(
      emptyChunks.map((c) => c.fresh?.length),
      [CHUNK_RECORDS, 0],
    );
    // the first, and those downloading ahead when the empty one was read
    assert.ok(empty.served.chunks <= 9, `${empty.served.chunks} chunks downloaded`);
    const oneMore = await serveBodies(t, madeUpJournal(commitmentRecords(CHUNK_RECORDS + 1)));
    const oneMoreChunks = await collect(oneMore.url, 0, 100, GENESIS_CHAIN_HASH, 0);
    assert.deepEqual(
      oneMoreChunks.map((c) => c.fresh?.length),
      [CHUNK_RECORDS, 1],
    );
  });

  it('stops at once, though chunks checked ahead wait for the follower', async (t) => {
    const records = commitmentRecords(400 * CHUNK_RECORDS);
    // a proof a chunk, whose attestation takes 20 ms to check (a node's RPC, the upstream's headers)
    for (let n = CHUNK_RECORDS - 1; n < records.length; n += CHUNK_RECORDS)
      records[n] = proofRecord(records, [n - 3, n - 2]);
    const { url } = await serveBodies(t, madeUpJournal(records));
    const mirror = await openTestMirror(t, url, () => new Promise((resolve) => setTimeout(resolve, 20)));
    const took = await stopFollowingAfter(mirror, 3000);
    assert.ok(took < 2000, `stopped after ${took} ms`);
    assert.ok(mirror.calendar.journal.head.records < records.length, 'stopped before the end');
  });

  it('ends the thread and its downloads as soon as the follower stops', async (t) => {
    // an upstream whose head says it has many chunks, and which never answers for one
    const server = createServer((req, res) => {
      if (req.url?.startsWith('/journal/head'))
        res.end(JSON.stringify({ records: MANY, chain_hash: toHex(new Uint8Array(32).fill(1)) }));
    });
    const url = await listenOnLoopback(t, server);
    const took = await stopFollowingAfter(await openTestMirror(t, url), 1000);
    // the downloads' own timeout is 30 s
    assert.ok(took < 5000, `stopped after ${took} ms`);
  });
});
