/**
 * The fast path (src/http/fast-path.ts) answers exactly as fastify did: the same requests, good and
 * bad, sent on real sockets to two apps over one calendar and one aggregator, one with the fast path
 * and one without, get the same status lines, headers (in order; the Date aside), bodies (a digest's
 * timestamp aside, whose nonce is random), connection ends, log lines, error counts and metrics.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { Aggregator, type AggregatorOptions } from '../../src/aggregator/aggregator.js';
import { Calendar } from '../../src/calendar/calendar.js';
import type { HttpLimits } from '../../src/http/app.js';
import {
  BitcoinBlockHeaderAttestation,
  MerkleTree,
  OpAppend,
  sha256,
  Timestamp,
  toHex,
} from '../../src/ots/index.js';
import { captureLogs } from '../helpers/log-capture.js';
import { type RawAnswer, RawConnection, rawExchange } from '../helpers/raw-http.js';
import { memoryLog, tempDir } from '../helpers/temp-dir.js';
import { buildTestApp, TEST_URI } from '../helpers/test-calendar.js';
import { waitFor } from '../helpers/wait-for.js';

/** What one app answered and recorded. */
interface Side {
  app: FastifyInstance;
  url: string;
  /** Its log lines, parsed. */
  logs: Record<string, unknown>[];
  /** The error codes counted, in order. */
  errors: string[];
  /** The requests accounted for: route, method, status. */
  requests: string[];
}

/** A pending commitment, and a proved one. */
const PENDING = sha256(new Uint8Array([1]));
const PROVED = sha256(new Uint8Array([2]));

/**
 * One calendar (PENDING and PROVED in it) and one aggregator, and two apps over them: `fast` with the
 * fast path, `fastify` without.
 */
async function twoApps(
  t: TestContext,
  options: { aggregator?: Partial<AggregatorOptions>; limits?: Partial<HttpLimits> } = {},
) {
  const calendar = await Calendar.open({ dataDir: tempDir(t), uri: TEST_URI, create: true });
  await calendar.commit(PENDING);
  await calendar.commit(PROVED);
  const tip = new Timestamp(new MerkleTree([sha256(PROVED)]).root);
  tip.ops.add(new OpAppend(new Uint8Array([9]))).attestations.add(new BitcoinBlockHeaderAttestation(777));
  await calendar.addProof([1], tip);
  const aggregator = new Aggregator({ sink: calendar, intervalMs: 20, ...options.aggregator });
  aggregator.start();
  const side = async (fastPath: boolean): Promise<Side> => {
    const { logger, lines } = captureLogs('debug');
    const errors: string[] = [];
    const requests: string[] = [];
    const app = buildTestApp(calendar, aggregator, {
      logger,
      fastPath,
      describePending: (r) => (r === 0 ? 'waits in transaction 00ff' : undefined),
      observe: (route, method, status) => requests.push(`${method} ${route} ${status}`),
      countError: (code) => errors.push(code),
      ...(options.limits && { limits: options.limits }),
    });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    return { app, url, logs: lines, errors, requests };
  };
  const fast = await side(true);
  const fastify = await side(false);
  t.after(async () => {
    await Promise.all([fast.app.close(), fastify.app.close()]);
    await aggregator.stop();
    await calendar.close();
  });
  return { calendar, aggregator, fast, fastify };
}

/** Sends `bytes` on a new connection; returns the first `count` answers, and whether it was closed. */
async function exchange(url: string, bytes: string | Buffer, count = 1) {
  const connection = await RawConnection.open(url);
  try {
    await connection.write(bytes);
    await connection.answered(count);
    // an answer that ends its connection: its close follows at once
    const last = connection.answers.at(-1);
    if (last?.headers.connection === 'close') await connection.closed;
    return { answers: connection.answers.slice(0, count), closed: connection.socket.destroyed };
  } finally {
    connection.destroy();
  }
}

/** An answer with its Date (which differs by the second) set aside. */
const comparable = (a: RawAnswer) => ({
  head: a.head.replace(/^Date: .*$/m, 'Date: -'),
  body: a.body.toString('latin1'),
});

/** Sends `bytes` to both apps; asserts the answers are the same and returns the fast path's. */
async function sameAnswers(apps: { fast: Side; fastify: Side }, bytes: string | Buffer, count = 1) {
  const fast = await exchange(apps.fast.url, bytes, count);
  const fastify = await exchange(apps.fastify.url, bytes, count);
  const what = String(bytes).split('\r\n')[0];
  assert.equal(fast.answers.length, count, what);
  assert.deepEqual(fast.answers.map(comparable), fastify.answers.map(comparable), what);
  assert.equal(fast.closed, fastify.closed, what);
  return fast.answers;
}

/** The same log lines (the request line's duration aside), error counts and requests accounted for. */
function assertSameRecords(fast: Side, fastify: Side): void {
  const lines = (side: Side) =>
    side.logs
      .filter((line) => !String(line.msg).startsWith('Server listening at'))
      .map(({ time: _time, pid: _pid, hostname: _host, ms: _ms, err, ...rest }) => ({
        ...rest,
        // an unexpected error's stack names the path that met it
        ...(err !== undefined && { err: (err as { message: string }).message }),
      }));
  assert.deepEqual(lines(fast), lines(fastify));
  assert.deepEqual(fast.errors, fastify.errors);
  assert.deepEqual(fast.requests, fastify.requests);
}

const get = (target: string, extra = '') => `GET ${target} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;
const post = (target: string, body: Buffer, extra = '') =>
  Buffer.concat([
    Buffer.from(`POST ${target} HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.byteLength}\r\n${extra}\r\n`),
    body,
  ]);

describe('the fast path answers as fastify did', () => {
  it('GET /timestamp: proved, pending (with and without a description), unknown, bad and odd targets', async (t) => {
    const apps = await twoApps(t, { limits: { maxUrlLength: 300 } });
    const [proved] = await sameAnswers(apps, get(`/timestamp/${toHex(PROVED)}`));
    assert.equal(proved?.status, 200);
    Timestamp.fromBytes(PROVED, proved?.body as Buffer);
    const [pending] = await sameAnswers(apps, get(`/timestamp/${toHex(PENDING).toUpperCase()}`));
    assert.equal(pending?.body.toString(), 'waits in transaction 00ff');
    const other = sha256(new Uint8Array([3]));
    await apps.calendar.commit(other);
    const [plain] = await sameAnswers(apps, get(`/timestamp/${toHex(other)}`));
    assert.equal(plain?.body.toString(), 'Pending confirmation in Bitcoin blockchain');
    for (const target of [
      `/timestamp/${'ab'.repeat(32)}`,
      `/timestamp/${'ab'.repeat(65)}`,
      `/timestamp/${'ab'.repeat(200)}`,
      '/timestamp/',
      '/timestamp/abc',
      '/timestamp/zz',
      '/timestamp/ab%20cd',
      '/timestamp/%zz',
      '/timestamp/abcd?x=1',
      '/timestamp/ab/cd',
      '/timestamp',
      `http://x/timestamp/${toHex(PROVED)}`,
      // built already, named in uppercase: not found by its hex as sent, found by its bytes
      `/timestamp/${toHex(PROVED).toUpperCase()}`,
    ])
      await sameAnswers(apps, get(target));
    // HTTP/1.0 (no Host needed), HTTP/1.1 without Host, other methods, pipelined
    await sameAnswers(apps, `GET /timestamp/${toHex(PROVED)} HTTP/1.0\r\n\r\n`);
    await sameAnswers(apps, `GET /timestamp/${toHex(PROVED)} HTTP/1.1\r\n\r\n`);
    for (const method of ['OPTIONS', 'POST', 'PUT', 'DELETE'])
      await sameAnswers(apps, `${method} /timestamp/${toHex(PROVED)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    // an answer to HEAD has a length and no body: read until the server closes
    const head = `HEAD /timestamp/${toHex(PROVED)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`;
    const heads = await Promise.all(
      [apps.fast, apps.fastify].map(async (side) => (await rawExchange(side.url, head)).answer),
    );
    assert.match(heads[0] as string, /^HTTP\/1\.1 200 OK\r\n/);
    assert.equal(...(heads.map((h) => h.replace(/^Date: .*$/m, 'Date: -')) as [string, string]));
    await sameAnswers(apps, [PROVED, PENDING, PROVED].map((c) => get(`/timestamp/${toHex(c)}`)).join(''), 3);
    assertSameRecords(apps.fast, apps.fastify);
  });

  it('GET /timestamp while the index has not passed its full check: 503 for what it lacks', async (t) => {
    const apps = await twoApps(t);
    apps.calendar.startFullIndexCheck(memoryLog());
    await apps.calendar.indexCheck?.stop();
    assert.equal(apps.calendar.indexCheck?.state, 'stopped');
    const [answer] = await sameAnswers(apps, get(`/timestamp/${'cd'.repeat(32)}`));
    assert.equal(answer?.status, 503);
    await sameAnswers(apps, get(`/timestamp/${toHex(PROVED)}`));
    assertSameRecords(apps.fast, apps.fastify);
  });

  it('an unexpected error: 500, logged with its stack each time, alike', async (t) => {
    const apps = await twoApps(t);
    // a fault no real calendar produces on demand: every answer fails
    apps.calendar.answer = async () => Promise.reject(new Error('the disk is on fire'));
    for (let i = 0; i < 2; i++) {
      const [answer] = await sameAnswers(apps, get(`/timestamp/${'ef'.repeat(32)}`));
      assert.deepEqual([answer?.status, answer?.body.toString()], [500, 'internal error']);
    }
    assert.equal(apps.fast.logs.filter((l) => l.code === 'OTSD_INTERNAL' && l.err).length, 2);
    assertSameRecords(apps.fast, apps.fastify);
  });

  it('POST /digest: 0 to 64 bytes, too long, chunked, any Content-Type, Expect; other routes and methods', async (t) => {
    const apps = await twoApps(t);
    for (const [body, extra] of [
      [randomBytes(32), ''],
      [Buffer.alloc(0), ''],
      [randomBytes(64), 'Content-Type: ;;;;/////\r\n'],
      [randomBytes(20), 'Content-Type: application/json\r\nExpect: something\r\n'],
    ] as const) {
      const fast = await exchange(apps.fast.url, post('/digest', body, extra));
      const fastify = await exchange(apps.fastify.url, post('/digest', body, extra));
      const [a, b] = [fast.answers[0] as RawAnswer, fastify.answers[0] as RawAnswer];
      // the same head; the bodies differ by their random nonce only, each a timestamp of its digest
      assert.equal(comparable(a).head, comparable(b).head);
      assert.equal(a.body.byteLength, b.body.byteLength);
      Timestamp.fromBytes(body, a.body);
      Timestamp.fromBytes(body, b.body);
    }
    await sameAnswers(apps, post('/digest', randomBytes(65)));
    await sameAnswers(apps, post('/digest', Buffer.alloc(32), 'Transfer-Encoding: chunked\r\n'));
    await sameAnswers(
      apps,
      `POST /digest HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n41\r\n${'a'.repeat(65)}\r\n0\r\n\r\n`,
    );
    await sameAnswers(apps, post('/digest?x=1', Buffer.alloc(65)));
    await sameAnswers(apps, post('/digest/', Buffer.alloc(32)));
    await sameAnswers(apps, post('/timestamp/00', Buffer.alloc(32)));
    await sameAnswers(apps, get('/digest'));
    await sameAnswers(apps, `POST /digest HTTP/1.1\r\nContent-Length: 0\r\n\r\n`);
    for (const method of ['PUT', 'OPTIONS', 'PATCH'])
      await sameAnswers(apps, `${method} /digest HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n`);
    assertSameRecords(apps.fast, apps.fastify);
  });

  it('POST /digest when too many digests wait: 503 with Retry-After, counted and logged alike', async (t) => {
    const apps = await twoApps(t, { aggregator: { maxWaiting: 0 } });
    for (let i = 0; i < 3; i++) {
      const [answer] = await sameAnswers(apps, post('/digest', Buffer.alloc(32, i)));
      assert.equal(answer?.status, 503);
    }
    assertSameRecords(apps.fast, apps.fastify);
  });

  it('a body cut short: no answer, counted and logged alike', async (t) => {
    const apps = await twoApps(t);
    for (const side of [apps.fast, apps.fastify]) {
      const { port } = new URL(side.url);
      const socket = connect(Number(port), '127.0.0.1');
      socket.on('error', () => {});
      await new Promise((resolve) => socket.once('connect', resolve));
      // the server's own listeners run first: once this one runs, the request is being answered
      const begun = new Promise((resolve) => side.app.server.once('request', resolve));
      socket.write('POST /digest HTTP/1.1\r\nHost: x\r\nContent-Length: 32\r\n\r\nabc');
      await begun;
      socket.destroy();
      // one for the connection Node's parser saw cut, one for the request whose body was cut
      await waitFor('the errors recorded', async () => (side.errors.length === 2 ? true : undefined));
    }
    assert.deepEqual(apps.fast.errors, ['OTSD_BAD_REQUEST', 'OTSD_BAD_REQUEST']);
    assertSameRecords(apps.fast, apps.fastify);
  });

  it('closing: digests in flight get their timestamps on a connection left open to linger, later requests 503', async (t) => {
    const apps = await twoApps(t, { aggregator: { intervalMs: 400 } });
    const answers: RawAnswer[][] = [];
    // one app after the other: each closes while its own digest waits
    for (const side of [apps.fast, apps.fastify]) {
      const waiting = await RawConnection.open(side.url);
      const late = await RawConnection.open(side.url);
      t.after(() => {
        waiting.destroy();
        late.destroy();
      });
      // a digest waits for its round; a GET is begun, to be ended while the app closes
      await waiting.write(post('/digest', Buffer.alloc(32, 1)));
      await late.write(`GET /timestamp/${toHex(PROVED)} HTTP/1.1\r\nHost: x\r\n`);
      await waitFor('the digest waiting', async () => (apps.aggregator.waiting > 0 ? true : undefined));
      const closing = side.app.close();
      await late.write('\r\n');
      await Promise.all([waiting.answered(1), late.answered(1), closing]);
      answers.push([waiting.answers[0] as RawAnswer, late.answers[0] as RawAnswer]);
    }
    const [[fastDigest, fastLate], [fastifyDigest, fastifyLate]] = answers as [RawAnswer[], RawAnswer[]];
    assert.equal(fastDigest?.status, 200);
    assert.notEqual(fastDigest?.headers.connection, 'close');
    assert.equal(comparable(fastDigest as RawAnswer).head, comparable(fastifyDigest as RawAnswer).head);
    assert.deepEqual(comparable(fastLate as RawAnswer), comparable(fastifyLate as RawAnswer));
    assert.equal(fastLate?.status, 503);
    assertSameRecords(apps.fast, apps.fastify);
  });
});
