/** Hard limits on real sockets: slow clients, oversized headers, malformed framing. The server keeps serving. */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import { startTestNode } from '../helpers/calendar-node.js';
import { captureLogs } from '../helpers/log-capture.js';

/** Sends raw bytes and collects everything the server answers until it closes (or `ms` passes). */
function rawExchange(
  url: string,
  bytes: string,
  ms = 5000,
): Promise<{ answer: string; closed: boolean; elapsed: number }> {
  const { port } = new URL(url);
  const started = Date.now();
  return new Promise((resolve) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.write(bytes));
    let answer = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ answer, closed: false, elapsed: Date.now() - started });
    }, ms);
    socket.on('data', (chunk) => {
      answer += chunk;
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ answer, closed: true, elapsed: Date.now() - started });
    });
    socket.on('error', () => {});
  });
}

const works = async (url: string) => {
  const res = await fetch(`${url}/digest`, { method: 'POST', body: new Uint8Array(32) });
  assert.equal(res.status, 200);
};

const metricsText = async (url: string | undefined) => (await fetch(String(url))).text();

describe('HTTP limits on real sockets', () => {
  it('a body that never finishes gets 408 and the connection closed; others are served meanwhile', async (t) => {
    const node = await startTestNode(t, {
      httpLimits: { headersTimeoutMs: 800, requestTimeoutMs: 1200, maxHeaderBytes: 4096 },
    });
    const slow = rawExchange(
      node.url,
      'POST /digest HTTP/1.1\r\nHost: x\r\nContent-Length: 64\r\n\r\n0123456789',
    );
    await works(node.url);
    const { answer, closed, elapsed } = await slow;
    assert.ok(closed, 'connection closed');
    assert.match(answer, /^HTTP\/1\.1 408/);
    assert.ok(elapsed < 4000, `closed after ${elapsed} ms`);
    await works(node.url);
  });

  it('headers that never finish get the connection closed', async (t) => {
    const node = await startTestNode(t, {
      httpLimits: { headersTimeoutMs: 800, requestTimeoutMs: 1200, maxHeaderBytes: 4096 },
    });
    const { closed, elapsed } = await rawExchange(node.url, 'GET / HTTP/1.1\r\nHost: x\r\nX-Slow: yes');
    assert.ok(closed);
    assert.ok(elapsed < 4000, `closed after ${elapsed} ms`);
    await works(node.url);
  });

  it('oversized headers get 431, malformed Content-Length gets 400', async (t) => {
    const node = await startTestNode(t, {
      httpLimits: { headersTimeoutMs: 800, requestTimeoutMs: 1200, maxHeaderBytes: 4096 },
    });
    const big = await rawExchange(
      node.url,
      `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(8000)}\r\n\r\n`,
    );
    assert.match(big.answer, /^HTTP\/1\.1 431/);
    for (const length of ['abc', '-1', '1e3']) {
      const bad = await rawExchange(
        node.url,
        `POST /digest HTTP/1.1\r\nHost: x\r\nContent-Length: ${length}\r\n\r\n`,
      );
      assert.match(bad.answer, /^HTTP\/1\.1 400/, length);
    }
    await works(node.url);
  });

  it('a chunked body over 64 bytes is refused as too long', async (t) => {
    const node = await startTestNode(t, {
      httpLimits: { headersTimeoutMs: 800, requestTimeoutMs: 1200, maxHeaderBytes: 4096 },
    });
    const chunk = 'a'.repeat(100);
    const { answer } = await rawExchange(
      node.url,
      `POST /digest HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${(100).toString(16)}\r\n${chunk}\r\n0\r\n\r\n`,
    );
    assert.match(answer, /^HTTP\/1\.1 400/);
    assert.match(answer, /digest too long$/);
  });

  it('many headers are tolerated up to the limit and the rest ignored', async (t) => {
    const node = await startTestNode(t, {
      httpLimits: { headersTimeoutMs: 800, requestTimeoutMs: 1200, maxHeaderBytes: 4096 },
    });
    const headers = Array.from({ length: 150 }, (_, i) => `X-H${i}: ${i}`).join('\r\n');
    const { answer } = await rawExchange(
      node.url,
      `GET /tip HTTP/1.1\r\nHost: x\r\n${headers}\r\nConnection: close\r\n\r\n`,
    );
    assert.match(answer, /^HTTP\/1\.1 404/);
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
