/** The reference's routes, answered in-process: statuses, bodies, content types, caching, CORS. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BitcoinBlockHeaderAttestation,
  MerkleTree,
  OpAppend,
  PendingAttestation,
  sha256,
  Timestamp,
  toHex,
} from '../../src/ots/index.js';
import { startTestCalendar, TEST_URI } from '../helpers/test-calendar.js';

/** The message under the PendingAttestation of a /digest answer: the calendar commitment. */
function commitmentOf(digest: Uint8Array, body: Uint8Array): Uint8Array {
  const timestamp = Timestamp.fromBytes(digest, body);
  const found = timestamp.shortestPathTo((a) => a instanceof PendingAttestation);
  assert.ok(found);
  assert.equal(String(found.attestation), `PendingAttestation('${TEST_URI}')`);
  return found.msg;
}

describe('POST /digest', () => {
  it('answers the path from the digest to a pending attestation, whatever the Content-Type', async (t) => {
    const { app, calendar } = await startTestCalendar(t);
    for (const contentType of [
      undefined,
      'application/x-www-form-urlencoded',
      'text/plain',
      'application/octet-stream',
      'application/vnd.opentimestamps.v1',
    ]) {
      const digest = crypto.getRandomValues(new Uint8Array(32));
      const res = await app.inject({
        method: 'POST',
        url: '/digest',
        payload: Buffer.from(digest),
        headers: contentType ? { 'content-type': contentType } : {},
      });
      assert.equal(res.statusCode, 200, contentType);
      assert.equal(res.headers['content-type'], 'application/octet-stream');
      assert.equal(res.headers['access-control-allow-origin'], '*');
      const commitment = commitmentOf(digest, res.rawPayload);
      assert.deepEqual(await calendar.lookup(commitment), { state: 'pending' });
    }
  });

  it('starts every answer with a 16-byte nonce and sha256, as the reference', async (t) => {
    const { app } = await startTestCalendar(t);
    const res = await app.inject({ method: 'POST', url: '/digest', payload: Buffer.alloc(32, 7) });
    assert.equal(toHex(res.rawPayload.subarray(0, 2)), 'f010');
    assert.equal(res.rawPayload[18], 0x08);
  });

  it('accepts 0 to 64 bytes and refuses 65 with the reference text', async (t) => {
    const { app } = await startTestCalendar(t);
    for (const length of [0, 1, 64]) {
      const res = await app.inject({ method: 'POST', url: '/digest', payload: Buffer.alloc(length, 1) });
      assert.equal(res.statusCode, 200, `length ${length}`);
      commitmentOf(new Uint8Array(length).fill(1), res.rawPayload);
    }
    const res = await app.inject({ method: 'POST', url: '/digest', payload: Buffer.alloc(65) });
    assert.equal(res.statusCode, 400);
    assert.equal(res.headers['content-type'], 'text/plain');
    assert.equal(res.body, 'digest too long');
  });

  it('puts the digests of one round under one commitment', async (t) => {
    const { app } = await startTestCalendar(t, { aggregator: { intervalMs: 200 } });
    const digests = Array.from({ length: 5 }, (_, i) => new Uint8Array(32).fill(i));
    const answers = await Promise.all(
      digests.map((d) => app.inject({ method: 'POST', url: '/digest', payload: Buffer.from(d) })),
    );
    const commitments = new Set(
      answers.map((res, i) => toHex(commitmentOf(digests[i] as Uint8Array, res.rawPayload))),
    );
    assert.equal(commitments.size, 1);
  });

  it('answers 503 with Retry-After when too many digests wait, and the others still succeed', async (t) => {
    const { app, logs } = await startTestCalendar(t, { aggregator: { intervalMs: 300, maxWaiting: 2 } });
    const answers = await Promise.all(
      [1, 2, 3].map((i) => app.inject({ method: 'POST', url: '/digest', payload: Buffer.alloc(32, i) })),
    );
    assert.deepEqual(answers.map((r) => r.statusCode).sort(), [200, 200, 503]);
    const busy = answers.find((r) => r.statusCode === 503);
    assert.equal(busy?.headers['retry-after'], '1');
    assert.equal(busy?.body, 'calendar busy, retry later');
    assert.ok(logs.some((l) => l.code === 'OTSD_OVERLOADED' && l.status === 503));
  });
});

describe('GET /timestamp/<hex>', () => {
  it('answers 400 for bad or odd-length hex, cached for a year', async (t) => {
    const { app } = await startTestCalendar(t);
    // as the reference, the hex is what follows /timestamp/ in the raw path: a query or a percent-escape
    // is not hex
    for (const hex of ['zz', 'abc', '0g', 'ab%20cd', 'abcd?x=1', '%61%62', '?x=1']) {
      const res = await app.inject(`/timestamp/${hex}`);
      assert.equal(res.statusCode, 400, hex);
      assert.equal(res.body, 'commitment must be hex-encoded bytes');
      assert.equal(res.headers['cache-control'], 'public, max-age=31536000');
    }
  });

  it('answers 404 Not found for unknown commitments, cached for a minute', async (t) => {
    const { app, logs } = await startTestCalendar(t);
    for (const url of [
      '/timestamp/00',
      `/timestamp/${'ab'.repeat(32)}`,
      `/timestamp/${'ab'.repeat(65)}`,
      '/timestamp/',
    ]) {
      const res = await app.inject(url);
      assert.equal(res.statusCode, 404, url);
      assert.equal(res.body, 'Not found');
      assert.equal(res.headers['cache-control'], 'public, max-age=60');
      assert.equal(res.headers['content-type'], 'text/plain');
    }
    assert.ok(logs.some((l) => l.code === 'OTSD_COMMITMENT_NOT_FOUND' && l.level === 20));
  });

  it('answers pending, then the proof once a proof record covers the commitment', async (t) => {
    const { app, calendar } = await startTestCalendar(t);
    const digest = new Uint8Array(32).fill(9);
    const posted = await app.inject({ method: 'POST', url: '/digest', payload: Buffer.from(digest) });
    const commitment = commitmentOf(digest, posted.rawPayload);
    const pending = await app.inject(`/timestamp/${toHex(commitment)}`);
    assert.equal(pending.statusCode, 404);
    assert.equal(pending.body, 'Pending confirmation in Bitcoin blockchain');
    assert.equal(pending.headers['cache-control'], 'public, max-age=60');

    const tip = new Timestamp(new MerkleTree([sha256(commitment)]).root);
    tip.ops
      .add(new OpAppend(new Uint8Array([1, 2, 3])))
      .attestations.add(new BitcoinBlockHeaderAttestation(777));
    await calendar.addProof([0], tip);
    for (const hex of [toHex(commitment), toHex(commitment).toUpperCase()]) {
      const res = await app.inject(`/timestamp/${hex}`);
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['content-type'], 'application/octet-stream');
      assert.equal(res.headers['cache-control'], 'public, max-age=31536000');
      const proof = Timestamp.fromBytes(commitment, res.rawPayload);
      assert.deepEqual(
        [...proof.allAttestations()].map(([, a]) => String(a)),
        ['BitcoinBlockHeaderAttestation(777)'],
      );
      // the client merges it under its pending attestation and gets a complete proof from its digest
      const full = Timestamp.fromBytes(digest, posted.rawPayload);
      const node = full.shortestPathTo((a) => a instanceof PendingAttestation);
      assert.ok(node);
      let at = full;
      for (const op of node.ops) at = at.ops.get(op) as Timestamp;
      at.merge(proof);
      assert.ok([...full.allAttestations()].some(([, a]) => a instanceof BitcoinBlockHeaderAttestation));
    }
  });
});

describe('other routes', () => {
  it('GET /tip is 404 with an empty body while nothing is being stamped', async (t) => {
    const { app } = await startTestCalendar(t);
    const res = await app.inject('/tip');
    assert.equal(res.statusCode, 404);
    assert.equal(res.body, '');
  });

  it('GET /status is an HTML status page, or JSON for Accept: application/json, with Vary: Accept; GET / gives the same JSON', async (t) => {
    const { app } = await startTestCalendar(t);
    await app.inject({ method: 'POST', url: '/digest', payload: Buffer.alloc(32) });
    const html = await app.inject('/status');
    assert.equal(html.statusCode, 200);
    assert.match(String(html.headers['content-type']), /^text\/html/);
    assert.equal(html.headers.vary, 'Accept');
    assert.equal(html.headers['cache-control'], 'public, max-age=5');
    assert.match(html.body, /Pending commitments<\/th><td>1 of 1</);
    assert.match(html.body, /<code>http:\/\/127\.0\.0\.1:14788<\/code>/);
    assert.match(html.body, /<a href="\.\/">Stamp and verify files<\/a>/);
    for (const url of ['/status', '/']) {
      const json = await app.inject({ url, headers: { accept: 'application/json' } });
      assert.match(String(json.headers['content-type']), /^application\/json/);
      assert.equal(json.headers.vary, 'Accept');
      assert.equal(json.headers['cache-control'], 'public, max-age=5');
      const status = JSON.parse(json.body) as {
        pending_commitments: number;
        journal: { records: number };
        uri: string;
      };
      assert.equal(status.pending_commitments, 1);
      assert.equal(status.journal.records, 1);
      assert.equal(status.uri, TEST_URI);
    }
  });

  it('unknown routes: 404 Not found (GET) or not found (POST), cached for an hour; other methods 501', async (t) => {
    const { app } = await startTestCalendar(t);
    const get = await app.inject('/nothing/here');
    assert.deepEqual(
      [get.statusCode, get.body, get.headers['cache-control']],
      [404, 'Not found', 'public, max-age=3600'],
    );
    const getDigest = await app.inject('/digest');
    assert.equal(getDigest.statusCode, 404);
    const post = await app.inject({ method: 'POST', url: '/timestamp/00' });
    assert.deepEqual([post.statusCode, post.body], [404, 'not found']);
    for (const method of ['PUT', 'DELETE', 'PATCH'] as const) {
      const res = await app.inject({ method, url: '/digest' });
      assert.deepEqual([res.statusCode, res.body], [501, 'Unsupported method'], method);
    }
  });

  it('answers CORS preflight so browsers can POST without a proxy', async (t) => {
    const { app } = await startTestCalendar(t);
    const res = await app.inject({
      method: 'OPTIONS',
      url: '/digest',
      headers: { origin: 'https://example.org', 'access-control-request-method': 'POST' },
    });
    assert.equal(res.statusCode, 204);
    assert.equal(res.headers['access-control-allow-origin'], '*');
    assert.match(String(res.headers['access-control-allow-methods']), /POST/);
    assert.match(String(res.headers['access-control-allow-headers']), /Content-Type/);
  });

  it('refuses URLs over the limit with 414, and logs it', async (t) => {
    const { app, logs } = await startTestCalendar(t, { limits: { maxUrlLength: 300 } });
    const res = await app.inject(`/timestamp/${'ab'.repeat(200)}`);
    assert.deepEqual([res.statusCode, res.body], [414, 'URL too long']);
    assert.ok(logs.some((l) => l.code === 'OTSD_URL_TOO_LONG'));
  });
});
