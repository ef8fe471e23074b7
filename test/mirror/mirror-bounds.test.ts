/**
 * A mirror's memory is bounded whatever its upstream sends: endless bodies for the head, a chunk or
 * headers are cut off at their bound; a head with fields that are not a journal's is refused; a
 * record over its kind's limit, or whose ranges would expand past the records before it or past the
 * most one record may cover, is refused before anything is expanded; and a proof covering that most
 * is checked in a small heap (its leaves are never all in memory).
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { frameRecord, RecordKind } from '../../src/journal/record.js';
import { openMirror } from '../../src/mirror/index.js';
import { upstreamHeaderCheck } from '../../src/mirror/upstream-headers.js';
import { Writer } from '../../src/ots/index.js';
import { startTestNode } from '../helpers/calendar-node.js';
import { spawnTracked } from '../helpers/child-process.js';
import { startForgingUpstream } from '../helpers/forging-upstream.js';
import { serveMadeUpJournal } from '../helpers/made-up-journal.js';
import { tempDir } from '../helpers/temp-dir.js';

async function upstreamAndMirror(t: TestContext) {
  const calendar = await startTestNode(t);
  await calendar.calendar.commit(crypto.getRandomValues(new Uint8Array(32)));
  const upstream = await startForgingUpstream(t, calendar.url);
  const mirror = await openMirror({
    dir: tempDir(t),
    upstream: upstream.url,
    insecureSkipAttestationCheck: true,
  });
  t.after(() => mirror.close());
  return { upstream, mirror };
}

/** A made-up journal of a commitment and a record of `kind` with `payload`. */
function serveJournal(
  upstream: { bodies: Map<string, Uint8Array | string> },
  kind: number,
  payload: Uint8Array,
) {
  serveMadeUpJournal(upstream, [
    [RecordKind.Commitment, new Uint8Array(32).fill(7)],
    [kind, payload],
  ]);
}

describe('a mirror against an upstream that sends too much', () => {
  it('cuts off an endless chunk, head or headers at its bound', async (t) => {
    const { upstream, mirror } = await upstreamAndMirror(t);
    upstream.endless = ['/journal/chunk/'];
    await assert.rejects(mirror.sync(), /journal\/chunk\/0: answer of over 16777216 bytes is over the limit/);
    upstream.endless = ['/journal/head'];
    await assert.rejects(mirror.sync(), /journal\/head: answer of over 4096 bytes is over the limit/);
    upstream.endless = ['/bitcoin/headers'];
    await assert.rejects(
      upstreamHeaderCheck(upstream.url, 'main')(2015, new Uint8Array(32)),
      /http:\/\/127\.0\.0\.1:\d+\/bitcoin\/headers\?from=2015&count=1: answer of over 80 bytes is over the limit/,
    );
    assert.equal(mirror.calendar.journal.head.records, 0);
  });

  it('refuses a head that is not a journal head', async (t) => {
    const { upstream, mirror } = await upstreamAndMirror(t);
    for (const head of [
      { records: 1.5, chain_hash: '00'.repeat(32) },
      { records: '2', chain_hash: '00'.repeat(32) },
      { records: 2, chain_hash: 'zz' },
    ]) {
      upstream.bodies.set('/journal/head', JSON.stringify(head));
      await assert.rejects(mirror.sync(), /journal\/head: not a journal head \(records, chain_hash\)/);
    }
  });

  it('refuses a proof whose ranges would expand to millions of records, before expanding them', async (t) => {
    const { upstream, mirror } = await upstreamAndMirror(t);
    const w = new Writer();
    w.writeVarUint(1);
    w.writeVarUint(0);
    w.writeVarUint(10_000_000);
    // padded so that the old bound (64 numbers a byte) would have let it expand
    serveJournal(upstream, RecordKind.Proof, Buffer.concat([w.toBytes(), new Uint8Array(200_000)]));
    await assert.rejects(
      mirror.sync(),
      /upstream record 1: proof record: a range reaches record 9999999, not before it/,
    );
    const stamp = new Writer();
    stamp.writeVarUint(1);
    stamp.writeVarUint(0);
    stamp.writeVarUint(5);
    serveJournal(upstream, RecordKind.Stamp, Buffer.concat([stamp.toBytes(), new Uint8Array(10)]));
    await assert.rejects(
      mirror.sync(),
      /upstream record 1: stamp record: a range reaches record 4, not before it/,
    );
    assert.equal(mirror.calendar.journal.head.records, 0);
  });

  it('checks a proof of 2^18 commitments in a 64 MB heap, and refuses one of more unexpanded', async (t) => {
    // the reviewer's shape: one proof record naming every commitment, padded past 64 numbers a byte;
    // run in a child whose heap is too small for the leaves, let alone their tree
    const module = (path: string) => JSON.stringify(new URL(path, import.meta.url).href);
    const script = `
      const { verifyRecord } = await import(${module('../../src/mirror/verify-record.js')});
      const { RecordKind } = await import(${module('../../src/journal/record.js')});
      const ots = await import(${module('../../src/ots/index.js')});
      const { merkleRoot } = await import(${module('../../src/journal/merkle-root.js')});
      const N = 2 ** 18;
      const commitment = new Uint8Array(32).fill(7);
      const proof = (count, tipMsg) => {
        const w = new ots.Writer();
        for (const n of [1, 0, count]) w.writeVarUint(n);
        const tip = new ots.Timestamp(tipMsg);
        let node = tip;
        for (const i of [1, 2]) node = node.ops.add(new ots.OpAppend(new Uint8Array(3000).fill(i))).ops.add(new ots.OpSHA256());
        node.attestations.add(new ots.BitcoinBlockHeaderAttestation(800000));
        w.writeBytes(tip.msg);
        tip.write(w);
        return { number: N + 1, kind: RecordKind.Proof, payload: w.toBytes(), chainHash: new Uint8Array(32) };
      };
      const attested = [];
      const context = {
        commitmentAt: () => commitment,
        commitments: N + 1,
        calendarUri: 'https://calendar.example',
        checkHeader: async (height) => { attested.push(height); },
      };
      const leaves = function* () { for (let i = 0; i < N; i++) yield ots.sha256(commitment); };
      const outcome = (record) => verifyRecord(record, context).then(() => 'accepted', (e) => e.message);
      console.log(JSON.stringify([
        await outcome(proof(N, new Uint8Array(32).fill(1))),
        await outcome(proof(N + 1, new Uint8Array(32).fill(1))),
        await outcome(proof(N, merkleRoot(leaves()))),
        attested.length,
      ]));
    `;
    const child = spawnTracked(process.execPath, [
      '--max-old-space-size=64',
      '--input-type=module',
      '-e',
      script,
    ]);
    t.after(() => child.stop('SIGKILL'));
    assert.equal(await child.exited, 0, child.output());
    const [wrongTip, tooMany, right, checked] = JSON.parse(child.output()) as [
      string,
      string,
      string,
      number,
    ];
    assert.match(wrongTip, /upstream record 262145: proof tip is not the merkle root of its commitments/);
    assert.match(
      tooMany,
      /upstream record 262145: proof record: ranges cover more than the 262144 commitments one record may cover/,
    );
    assert.equal(right, 'accepted');
    assert.equal(checked, 1, 'the attestation of the right tip checked');
  });

  it('refuses a record over its kind limit', async (t) => {
    const { upstream, mirror } = await upstreamAndMirror(t);
    serveJournal(upstream, RecordKind.Proof, new Uint8Array(300 * 1024));
    await assert.rejects(
      mirror.sync(),
      /upstream record 1: a payload of 307200 bytes is over the 262144-byte limit of its kind/,
    );
    assert.throws(
      () => frameRecord(RecordKind.Commitment, new Uint8Array(65)),
      /exceeds the 64-byte limit of kind 1/,
    );
  });
});
