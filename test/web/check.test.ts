/**
 * The page's logic without a browser, against a real calendar in this process (its proofs are made
 * up, so no header verifies them: the real chain is test/web/page-browser.test.ts's): stamping as
 * `ots stamp` does, then every outcome a check can have short of "verified", in the page's words.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BitcoinBlockHeaderAttestation,
  type CryptOp,
  DetachedTimestampFile,
  LitecoinBlockHeaderAttestation,
  OpAppend,
  OpKECCAK256,
  OpRIPEMD160,
  OpSHA1,
  OpSHA256,
  PendingAttestation,
  sha256,
  Timestamp,
  toHex,
} from '../../src/ots/index.js';
import {
  asksHere,
  type CheckContext,
  checkTimestamp,
  MAX_ASKED,
  type OriginalFile,
} from '../../src/web/check.js';
import type { PageFacts } from '../../src/web/facts.js';
import { streamDigest } from '../../src/web/file-digest.js';
import { type PageServer, pageServer } from '../../src/web/server-api.js';
import { mergeAnswer, nonceAndJoin } from '../../src/web/stamp.js';
import { proveCommitments, startTestNode } from '../helpers/calendar-node.js';

const random = (n: number) => crypto.getRandomValues(new Uint8Array(n));
const original = (name: string, data: Uint8Array): OriginalFile => ({
  name,
  digest: async (op: CryptOp) => op.hashData(data),
});

describe('the page: stamp and check', () => {
  it('stamps files as ots stamp does, and says pending, wrong original, damaged, complete, not asked, unreachable', async (t) => {
    const node = await startTestNode(t);
    const here = `${node.url}/`;
    const facts: PageFacts = {
      role: 'calendar',
      uri: node.calendar.uri,
      upstreams: [],
      stamping: true,
      proofs: true,
      headers: 'none',
    };
    const c: CheckContext = { server: pageServer(here), facts, here };

    const data = [random(100), random(200), random(300)];
    const { files, tip } = nonceAndJoin(data.map(sha256), random);
    mergeAnswer(tip, await c.server.submit(tip.msg));
    // each file: its digest, a 16-byte nonce, sha256, then the shared path to this calendar
    for (const [i, file] of files.entries()) {
      assert.equal(toHex(file.fileDigest), toHex(sha256(data[i] as Uint8Array)));
      const [[append, nonced]] = [...file.timestamp.ops] as [[unknown, Timestamp]];
      assert.ok(append instanceof OpAppend && append.arg.byteLength === 16);
      assert.deepEqual(
        [...nonced.ops].map(([op]) => op.name),
        ['sha256'],
      );
      const pending = file.timestamp.shortestPathTo((a) => a instanceof PendingAttestation);
      assert.equal(String(pending?.attestation), `PendingAttestation('${node.calendar.uri}')`);
    }
    const bytes = (files[0] as DetachedTimestampFile).toBytes();
    const proof = { name: 'first.ots', bytes };
    const first = original('first', data[0] as Uint8Array);

    const pending = await checkTimestamp(proof, first, c);
    assert.equal(pending.verdict, 'pending');
    assert.match(pending.headline, /^Not verified yet: the timestamp is pending/);
    assert.deepEqual(pending.lines, [
      "first matches the timestamp's sha256 digest.",
      `Calendar ${node.calendar.uri}: Pending confirmation in Bitcoin blockchain.`,
    ]);
    assert.match(pending.info, /^File sha256 hash: [0-9a-f]{64}\nTimestamp:\nappend [0-9a-f]{32}\nsha256\n/);
    assert.equal(pending.upgraded, undefined);

    const wrong = await checkTimestamp(proof, original('second', data[1] as Uint8Array), c);
    assert.equal(wrong.verdict, 'failed');
    assert.equal(wrong.headline, 'Wrong original file: second is not the file this timestamp is for.');
    assert.deepEqual(wrong.lines, [
      `Its sha256 is ${toHex(sha256(data[1] as Uint8Array))}; the timestamp is for ${toHex(sha256(data[0] as Uint8Array))}.`,
    ]);

    for (const damaged of [bytes.subarray(0, 40), new Uint8Array([...bytes, 0]), new Uint8Array(10)]) {
      const report = await checkTimestamp({ name: 'damaged.ots', bytes: damaged }, first, c);
      assert.equal(report.verdict, 'failed');
      assert.match(report.headline, /^damaged\.ots is not a valid timestamp: it was damaged or altered/);
      assert.match(report.lines[0] as string, /^Reading it failed: .+ \(at byte \d+\)\.$/);
    }

    // one byte of the nonce changed: the calendar never saw the commitment it leads to
    assert.deepEqual([bytes[65], bytes[66]], [0xf0, 0x10], 'append of a 16-byte nonce after the digest');
    const altered = bytes.slice();
    altered[70] = (altered[70] as number) ^ 1;
    const tampered = await checkTimestamp({ name: 'altered.ots', bytes: altered }, undefined, c);
    assert.equal(tampered.verdict, 'failed');
    assert.equal(
      tampered.headline,
      "Not verified: this calendar never saw the timestamp's commitment: the timestamp was altered, or it is not from this calendar.",
    );
    assert.equal(tampered.lines[1], `Calendar ${node.calendar.uri}: Not found.`);

    // a pending attestation of another calendar is left alone
    const elsewhere = await checkTimestamp(proof, undefined, {
      ...c,
      facts: { ...facts, uri: 'https://calendar.example' },
      here: 'https://calendar.example/',
    });
    assert.equal(elsewhere.verdict, 'pending');
    assert.equal(
      elsewhere.headline,
      `Not verified here: the timestamp is pending at ${node.calendar.uri}, which this page does not ask. Upgrade it with "ots upgrade", then check it here.`,
    );
    assert.match(elsewhere.lines[1] as string, /: not asked; this page upgrades only from this server/);

    // the calendar's proof is merged in; without headers the page says it cannot verify here
    const commitment = (files[0] as DetachedTimestampFile).timestamp.shortestPathTo(
      (a) => a instanceof PendingAttestation,
    )?.msg as Uint8Array;
    await proveCommitments(node, [commitment]);
    const complete = await checkTimestamp(proof, undefined, c);
    assert.equal(complete.verdict, 'unverified');
    assert.equal(complete.headline, 'Not verified here: this server has no Bitcoin node.');
    assert.equal(complete.lines[1], `Calendar ${node.calendar.uri}: complete; its Bitcoin proof was added.`);
    const upgraded = DetachedTimestampFile.fromBytes(complete.upgraded as Uint8Array);
    assert.ok(
      [...upgraded.timestamp.allAttestations()].some(([, a]) => a instanceof BitcoinBlockHeaderAttestation),
    );
    assert.match(complete.info, /verify BitcoinBlockHeaderAttestation\(\d+\)/);
    // a server that says it has headers but serves none
    const noRoute = await checkTimestamp(proof, undefined, {
      ...c,
      facts: { ...facts, headers: 'own node' },
    });
    assert.equal(noRoute.headline, 'Could not verify: this server serves no Bitcoin block headers.');

    await node.close();
    const unreachable = await checkTimestamp(proof, first, c);
    assert.equal(unreachable.verdict, 'unverified');
    assert.match(unreachable.headline, /^Could not upgrade: the calendar is unreachable \(.+\)\.$/);
    await assert.rejects(c.server.submit(random(32)), /the calendar is unreachable/);
  });

  it('says when a timestamp holds nothing it can check, and asks for a bounded number of proofs and headers', async () => {
    const facts: PageFacts = {
      role: 'calendar',
      uri: 'http://127.0.0.1:14789',
      upstreams: [],
      stamping: true,
      proofs: true,
      headers: 'own node',
    };
    const asked = { proofs: 0, headers: 0 };
    const server: PageServer = {
      submit: () => Promise.reject(new Error('not used')),
      proof: async () => {
        asked.proofs++;
        return { state: 'missing', reason: 'Pending confirmation in Bitcoin blockchain' };
      },
      header: async () => {
        asked.headers++;
        return { header: undefined, network: 'regtest' };
      },
    };
    const c: CheckContext = { server, facts, here: 'https://calendar.example/' };
    const file = (attest: (leaf: Timestamp, i: number) => void, leaves = 1) => {
      const f = new DetachedTimestampFile(new OpSHA256(), new Timestamp(random(32)));
      for (let i = 0; i < leaves; i++) attest(f.timestamp.ops.add(new OpAppend(random(8))), i);
      return { name: 'crafted.ots', bytes: f.toBytes() };
    };

    const nothing = await checkTimestamp(
      file((leaf) => leaf.attestations.add(new LitecoinBlockHeaderAttestation(7))),
      undefined,
      c,
    );
    assert.equal(nothing.verdict, 'unverified');
    assert.match(nothing.headline, /^Not verified: the timestamp holds no attestation this page can check/);

    // thousands of pending attestations naming this calendar, thousands of heights: a few requests
    const pending = await checkTimestamp(
      file((leaf) => leaf.attestations.add(new PendingAttestation(facts.uri as string)), 500),
      undefined,
      c,
    );
    assert.equal(asked.proofs, MAX_ASKED);
    assert.equal(pending.verdict, 'pending');
    assert.match(pending.lines.at(-1) as string, /^484 more pending attestations not asked/);
    const heights = await checkTimestamp(
      file((leaf, i) => leaf.attestations.add(new BitcoinBlockHeaderAttestation(1000 + (i % 300))), 600),
      undefined,
      c,
    );
    assert.equal(asked.headers, MAX_ASKED);
    assert.equal(heights.verdict, 'unverified');
    assert.ok(
      heights.lines.some((l) => /^600 Bitcoin attestations: this page checks those at the 16 lowest/.test(l)),
    );
  });

  it('asks this server about its own calendar, this site, and a mirror’s upstream only', () => {
    const mirror: PageFacts = {
      role: 'mirror',
      uri: 'http://127.0.0.1:14789',
      upstreams: ['https://calendar.example'],
      stamping: false,
      proofs: true,
      headers: 'upstream',
    };
    const here = 'https://proofs.example/calendar/';
    for (const uri of [
      'http://127.0.0.1:14789',
      'https://calendar.example',
      'https://proofs.example/calendar',
    ])
      assert.ok(asksHere(uri, { facts: mirror, here }), uri);
    for (const uri of ['https://alice.btc.calendar.opentimestamps.org', 'https://calendar.example.org'])
      assert.ok(!asksHere(uri, { facts: mirror, here }), uri);
    assert.ok(!asksHere('https://calendar.example', { facts: { ...mirror, role: 'aggregator' }, here }));
    assert.ok(!asksHere(here, { facts: { ...mirror, proofs: false }, here }));
  });

  it('hashes a file chunk by chunk to the same digest as hashing it whole, with every hash op', async () => {
    const data = new Uint8Array(100_000).map((_, i) => (i * 7919) % 251);
    async function* chunks() {
      for (let at = 0; at < data.length; ) {
        const size = 1 + Math.floor(Math.random() * 20_000);
        yield data.subarray(at, at + size);
        at += size;
      }
    }
    for (const op of [new OpSHA256(), new OpSHA1(), new OpRIPEMD160(), new OpKECCAK256()])
      assert.equal(toHex(await streamDigest(op, chunks())), toHex(op.hashData(data)), op.name);
  });
});
