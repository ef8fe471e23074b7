/**
 * Hard limits and edge cases on real sockets: slow clients, oversized headers, malformed framing,
 * closing, half-closed connections, refusal floods. The server keeps serving; every error is plain text.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import { Timestamp } from '../../src/ots/index.js';
import { startTestNode } from '../helpers/calendar-node.js';
import { captureLogs } from '../helpers/log-capture.js';
import { parseAnswer, rawExchange } from '../helpers/raw-http.js';
import { waitFor } from '../helpers/wait-for.js';

/** The error answers otsd gives: status, text/plain, the catalogue's short text. */
function assertPlainError(answer: string, status: number, text: string) {
  const parsed = parseAnswer(answer);
  assert.equal(parsed.status, status, answer.slice(0, 200));
  assert.equal(parsed.headers['content-type'], 'text/plain', answer.slice(0, 200));
  assert.equal(parsed.body.toString(), text);
  return parsed;
}

const works = async (url: string) => {
  const res = await fetch(`${url}/digest`, { method: 'POST', body: new Uint8Array(32) });
  assert.equal(res.status, 200);
};

const metricsText = async (url: string | undefined) => (await fetch(String(url))).text();

const openConnections = (node: Awaited<ReturnType<typeof startTestNode>>) =>
  new Promise<number>((resolve, reject) =>
    node.app.server.getConnections((e, count) => (e ? reject(e) : resolve(count))),
  );

const SHORT_TIMEOUTS = { headersTimeoutMs: 800, requestTimeoutMs: 1200, maxHeaderBytes: 4096 };

describe('HTTP limits on real sockets', () => {
  it('a body that never finishes gets 408 and the connection closed; others are served meanwhile', async (t) => {
    const node = await startTestNode(t, { httpLimits: SHORT_TIMEOUTS });
    const slow = rawExchange(
      node.url,
      'POST /digest HTTP/1.1\r\nHost: x\r\nContent-Length: 64\r\n\r\n0123456789',
    );
    await works(node.url);
    const { answer, closed, elapsed } = await slow;
    assert.ok(closed, 'connection closed');
    assertPlainError(answer, 408, 'request timeout');
    assert.ok(elapsed < 4000, `closed after ${elapsed} ms`);
    await works(node.url);
  });

  it('headers that never finish get the connection closed', async (t) => {
    const node = await startTestNode(t, { httpLimits: SHORT_TIMEOUTS });
    const { closed, elapsed } = await rawExchange(node.url, 'GET / HTTP/1.1\r\nHost: x\r\nX-Slow: yes');
    assert.ok(closed);
    assert.ok(elapsed < 4000, `closed after ${elapsed} ms`);
    await works(node.url);
  });

  it('oversized headers get 431 and malformed requests 400, in plain text, closed and counted', async (t) => {
    const node = await startTestNode(t, {
      httpLimits: SHORT_TIMEOUTS,
      metrics: { host: '127.0.0.1', port: 0 },
    });
    const big = await rawExchange(
      node.url,
      `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(8000)}\r\n\r\n`,
    );
    assert.ok(big.closed);
    assert.equal(assertPlainError(big.answer, 431, 'request headers too large').headers.connection, 'close');
    const malformed = [
      ...['abc', '-1', '1e3'].map((l) => `POST /digest HTTP/1.1\r\nHost: x\r\nContent-Length: ${l}\r\n\r\n`),
      'POST /digest HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n',
      'HELLO WORLD\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n',
    ];
    for (const request of malformed) {
      const bad = await rawExchange(node.url, request);
      assert.ok(bad.closed, request);
      assert.equal(assertPlainError(bad.answer, 400, 'bad request').headers.connection, 'close', request);
    }
    // HTTP/1.1 requires a Host header (RFC 9112 3.2); HTTP/1.0 does not
    const noHost = await rawExchange(node.url, 'GET /tip HTTP/1.1\r\n\r\n');
    assert.ok(noHost.closed);
    assertPlainError(noHost.answer, 400, 'an HTTP/1.1 request needs a Host header');
    assertPlainError((await rawExchange(node.url, 'GET /tip HTTP/1.0\r\n\r\n')).answer, 404, '');
    const tunnel = await rawExchange(node.url, 'CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.ok(tunnel.closed);
    assertPlainError(tunnel.answer, 501, 'Unsupported method');

    const metrics = await metricsText(node.metricsUrl);
    assert.match(metrics, /^otsd_http_errors_total\{code="OTSD_HEADERS_TOO_LARGE"\} 1$/m);
    assert.match(metrics, /^otsd_http_errors_total\{code="OTSD_BAD_REQUEST"\} 6$/m);
    assert.match(metrics, /^otsd_http_errors_total\{code="OTSD_NO_HOST"\} 1$/m);
    assert.match(metrics, /^otsd_http_errors_total\{code="OTSD_UNSUPPORTED_METHOD"\} 1$/m);
    await works(node.url);
  });

  it('a chunked body over 64 bytes is refused as too long', async (t) => {
    const node = await startTestNode(t, { httpLimits: SHORT_TIMEOUTS });
    const chunk = 'a'.repeat(100);
    const { answer } = await rawExchange(
      node.url,
      `POST /digest HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${(100).toString(16)}\r\n${chunk}\r\n0\r\n\r\n`,
    );
    assertPlainError(answer, 400, 'digest too long');
  });

  it('many headers are tolerated up to the limit and the rest ignored', async (t) => {
    const node = await startTestNode(t, { httpLimits: SHORT_TIMEOUTS });
    const headers = Array.from({ length: 150 }, (_, i) => `X-H${i}: ${i}`).join('\r\n');
    const { answer } = await rawExchange(
      node.url,
      `GET /tip HTTP/1.1\r\nHost: x\r\n${headers}\r\nConnection: close\r\n\r\n`,
    );
    assert.match(answer, /^HTTP\/1\.1 404/);
  });

  it('POST /digest ignores Content-Type (even one that does not parse) and Expect, as the reference', async (t) => {
    const node = await startTestNode(t);
    for (const header of [
      'Content-Type: ;;;;/////',
      'Content-Type: application/json',
      'Content-Type: ',
      'Expect: something',
    ]) {
      const digest = randomBytes(32);
      const { answer } = await rawExchange(
        node.url,
        Buffer.concat([
          Buffer.from(
            `POST /digest HTTP/1.1\r\nHost: x\r\n${header}\r\nContent-Length: 32\r\nConnection: close\r\n\r\n`,
          ),
          digest,
        ]),
      );
      const { status, body } = parseAnswer(answer);
      assert.equal(status, 200, header);
      Timestamp.fromBytes(digest, body);
    }
  });
});

describe('GET /timestamp on raw sockets', () => {
  it('an absolute-form target and a bad percent-escape answer as the reference does', async (t) => {
    const node = await startTestNode(t);
    const commitment = new Uint8Array(32).fill(7);
    await node.calendar.commit(commitment);
    const hex = Buffer.from(commitment).toString('hex');
    const absolute = await rawExchange(
      node.url,
      `GET ${node.url}/timestamp/${hex} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    );
    assertPlainError(absolute.answer, 404, 'Pending confirmation in Bitcoin blockchain');
    for (const target of ['/timestamp/ab%2', '/timestamp/%zz']) {
      const bad = await rawExchange(
        node.url,
        `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      );
      const parsed = assertPlainError(bad.answer, 400, 'commitment must be hex-encoded bytes');
      assert.equal(parsed.headers['cache-control'], 'public, max-age=31536000', target);
    }
  });
});

describe('closing', () => {
  it('a request that arrives while the node closes gets 503 in plain text', async (t) => {
    const node = await startTestNode(t);
    const { port } = new URL(node.url);
    const socket = connect(Number(port), '127.0.0.1');
    t.after(() => socket.destroy());
    let answer = '';
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('latin1');
    });
    const closed = new Promise((resolve) => socket.on('close', resolve));
    // a request begun before the close holds its connection open; it ends after the close began
    await new Promise<void>((resolve) => socket.write('GET /tip HTTP/1.1\r\nHost: x\r\n', () => resolve()));
    await waitFor('the request begun', async () => ((await openConnections(node)) === 1 ? true : undefined));
    const closing = node.close();
    socket.write('\r\n');
    await closed;
    await closing;
    const { headers } = assertPlainError(answer, 503, 'calendar shutting down, retry later');
    assert.equal(headers['retry-after'], '1');
  });
});

describe('half-closed connections', () => {
  it('a client that half-closes after POST /digest gets its answer, then the connection closes', async (t) => {
    const node = await startTestNode(t, { roundIntervalMs: 200 });
    for (const head of [
      'POST /digest HTTP/1.0\r\nContent-Length: 32\r\n\r\n',
      'POST /digest HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 32\r\n\r\n',
      'POST /digest HTTP/1.1\r\nHost: x\r\nContent-Length: 32\r\n\r\n',
    ]) {
      const digest = randomBytes(32);
      const { answer, closed } = await rawExchange(node.url, Buffer.concat([Buffer.from(head), digest]), {
        halfClose: true,
      });
      assert.ok(closed, head);
      const { status, headers, body } = parseAnswer(answer);
      assert.equal(status, 200, head);
      assert.equal(headers['content-type'], 'application/octet-stream');
      Timestamp.fromBytes(digest, body);
    }
  });

  it('clients that leave before their answer leave no connection or waiting digest behind', async (t) => {
    // a round long past the clients' 100 ms, however late their timers fire on a loaded machine
    const node = await startTestNode(t, { roundIntervalMs: 2000 });
    const request = `POST /digest HTTP/1.1\r\nHost: x\r\nContent-Length: 32\r\n\r\n${'a'.repeat(32)}`;
    // gone (a full close) before the round ends, after a half-close or without one
    const gone = await Promise.all([
      rawExchange(node.url, request, { ms: 100 }),
      rawExchange(node.url, request, { ms: 100, halfClose: true }),
    ]);
    assert.deepEqual(
      gone.map((g) => g.answer),
      ['', ''],
    );
    await waitFor('the digests answered and the connections closed', async () =>
      node.aggregator?.unanswered === 0 && (await openConnections(node)) === 0 ? true : undefined,
    );
    assert.equal(node.aggregator?.stats.digests, 2);
    await works(node.url);
  });
});

describe('refusals in the log', () => {
  it('1,000 overload refusals cost a couple of log lines without stacks, and are counted', async (t) => {
    const { logger, lines } = captureLogs('warn');
    const node = await startTestNode(t, {
      maxWaitingDigests: 0,
      logger,
      metrics: { host: '127.0.0.1', port: 0 },
    });
    for (let sent = 0; sent < 1000; sent += 50) {
      const statuses = await Promise.all(
        Array.from({ length: 50 }, async () => {
          const res = await fetch(`${node.url}/digest`, { method: 'POST', body: new Uint8Array(32) });
          await res.arrayBuffer();
          return res.status;
        }),
      );
      assert.deepEqual(new Set(statuses), new Set([503]));
    }
    assert.match(
      await metricsText(node.metricsUrl),
      /^otsd_http_errors_total\{code="OTSD_OVERLOADED"\} 1000$/m,
    );
    await node.close(); // logs the count not logged yet
    const overloaded = lines.filter((l) => l.code === 'OTSD_OVERLOADED');
    assert.ok(overloaded.length <= 3, `${overloaded.length} lines`);
    assert.equal(
      overloaded.reduce((sum, l) => sum + Number(l.count), 0),
      1000,
      JSON.stringify(overloaded),
    );
    assert.ok(
      overloaded.every((l) => l.err === undefined && !JSON.stringify(l).includes('    at ')),
      'no stack trace',
    );
  });
});
