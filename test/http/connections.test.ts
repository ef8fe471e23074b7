/**
 * Requests in flight on real sockets: a connection that pipelines past its cap is not read until it
 * has room, past the server's cap a new request is refused at once, and a client pipelining more than
 * the server takes gets an answer to everything read; on close, every request read gets its answer
 * (pipelined ones, and one sent on an idle keep-alive connection as the close begins).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import type { CalendarNode } from '../../src/daemon/calendar-node.js';
import { Timestamp } from '../../src/ots/index.js';
import { startTestNode } from '../helpers/calendar-node.js';
import { freePort } from '../helpers/free-port.js';
import { digestRequest, type RawAnswer, RawConnection } from '../helpers/raw-http.js';
import { waitFor } from '../helpers/wait-for.js';

const digests = (n: number) => Array.from({ length: n }, () => randomBytes(32));

/**
 * Opens a connection that pipelines `count` GET / and reads no answer (its receive window fills, and
 * the server's writes stall) until `closedWithin` reads on to see whether the server closed it.
 */
async function nonReader(url: string, count: number) {
  const { hostname, port } = new URL(url);
  const socket: Socket = connect(Number(port), hostname);
  socket.on('error', () => {});
  const closed = new Promise<boolean>((resolve) => socket.once('close', () => resolve(true)));
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.pause();
  socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(count));
  const closedWithin = async (ms: number) => {
    socket.resume();
    const timer = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms).unref());
    return Promise.race([closed, timer]);
  };
  return { socket, closedWithin };
}

/** otsd_http_connections_closed_total for `reason`, from the node's metrics. */
async function closedConnections(node: CalendarNode, reason: string): Promise<number> {
  const text = await (await fetch(node.metricsUrl as string)).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`otsd_http_connections_closed_total{reason="${reason}"}`));
  return Number(line?.split(' ').at(-1) ?? 0);
}

/** Opens a connection that pipelines a POST /digest for each of `sent` at once. */
async function pipeline(url: string, sent: Uint8Array[]): Promise<RawConnection> {
  const connection = await RawConnection.open(url);
  await connection.write(Buffer.concat(sent.map(digestRequest)));
  return connection;
}

/** Every answer a timestamp of its digest, in order. */
function assertProofs(answers: RawAnswer[], sent: Uint8Array[]): void {
  assert.deepEqual(
    answers.map((a) => a.status),
    sent.map(() => 200),
  );
  for (const [i, a] of answers.entries()) Timestamp.fromBytes(sent[i] as Uint8Array, a.body);
}

describe('requests in flight', () => {
  it('a connection that pipelines past its cap is read no further until it has room; all are answered', async (t) => {
    const node = await startTestNode(t, {
      roundIntervalMs: 400,
      httpLimits: { maxRequestsPerConnection: 4 },
    });
    const sent = digests(20);
    const connection = await pipeline(node.url, sent);
    t.after(() => connection.destroy());
    await waitFor('the first requests to wait for their round', () =>
      node.aggregator?.unanswered === 4 ? true : undefined,
    );
    // all 20 came in one read: the 16 past the cap wait, unprocessed
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(node.aggregator?.unanswered, 4);
    await connection.answered(20);
    assertProofs(connection.answers, sent);
  });

  it('past the server cap, a request on a connection with nothing in flight gets 503 at once', async (t) => {
    const node = await startTestNode(t, { roundIntervalMs: 2000, httpLimits: { maxRequestsInFlight: 3 } });
    const waiting = await Promise.all(digests(3).map((d) => pipeline(node.url, [d])));
    t.after(() => {
      for (const c of waiting) c.destroy();
    });
    await waitFor('three digests waiting', () => (node.aggregator?.unanswered === 3 ? true : undefined));
    const started = Date.now();
    const refused = await pipeline(node.url, digests(1));
    t.after(() => refused.destroy());
    await refused.answered(1);
    assert.ok(Date.now() - started < 1500, 'answered before the round');
    const [answer] = refused.answers;
    assert.equal(answer?.status, 503);
    assert.equal(answer?.body.toString(), 'calendar busy, retry later');
    assert.equal(answer?.headers['retry-after'], '1');
    await Promise.all(waiting.map((c) => c.answered(1)));
    assert.deepEqual(
      waiting.map((c) => c.answers[0]?.status),
      [200, 200, 200],
    );
  });

  it('past twice the server cap, counting requests read past their connection cap, no connection is read', async (t) => {
    const node = await startTestNode(t, {
      roundIntervalMs: 200,
      httpLimits: { maxRequestsInFlight: 3, maxRequestsPerConnection: 1 },
    });
    // one read of 10: 1 in flight, 9 waiting unprocessed, 10 held (past 2 x 3)
    const sent = digests(10);
    const flood = await pipeline(node.url, sent);
    t.after(() => flood.destroy());
    await waitFor('the first digest to wait', () => (node.aggregator?.unanswered === 1 ? true : undefined));
    const other = await pipeline(node.url, digests(1));
    t.after(() => other.destroy());
    await other.answered(1);
    // it was read only once the flood's held requests fell under twice the cap
    assert.ok(flood.answers.length >= 5, `answered after ${flood.answers.length} of the flood`);
    assert.equal(other.answers[0]?.status, 200);
    await flood.answered(10);
    assertProofs(flood.answers, sent);
  });

  it('a client that reads none of its answers holds no room on other connections, and is closed past the send timeout', async (t) => {
    const node = await startTestNode(t, {
      roundIntervalMs: 50,
      httpLimits: { maxRequestsInFlight: 64, sendTimeoutMs: 1500 },
      metrics: { host: '127.0.0.1', port: await freePort() },
    });
    const stalled = await Promise.all([nonReader(node.url, 3000), nonReader(node.url, 3000)]);
    t.after(() => {
      for (const s of stalled) s.socket.destroy();
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    // their answers are written (the kernel holds what it can): another client is served
    const answer = await fetch(`${node.url}/digest`, { method: 'POST', body: new Uint8Array(32) });
    assert.equal(answer.status, 200);
    // and their connections, whose answers do not move, are closed by the server (the reset is seen
    // once the client reads again); a client that reads still gets its answers and keeps its connection
    await new Promise((resolve) => setTimeout(resolve, 5000));
    for (const s of stalled) assert.ok(await s.closedWithin(20_000), 'the server closed the connection');
    assert.equal(await closedConnections(node, 'stalled'), 2, 'each counted');
  });

  it('counts the connections closed past max_connections', async (t) => {
    const node = await startTestNode(t, {
      httpLimits: { maxConnections: 2 },
      metrics: { host: '127.0.0.1', port: await freePort() },
    });
    const { hostname, port } = new URL(node.url);
    const sockets = Array.from({ length: 5 }, () => connect(Number(port), hostname).on('error', () => {}));
    t.after(() => {
      for (const socket of sockets) socket.destroy();
    });
    // Node accepts each, then closes those past the cap at once
    await waitFor('three closed', async () =>
      (await closedConnections(node, 'over-cap')) >= 3 ? true : undefined,
    );
    assert.equal(await closedConnections(node, 'over-cap'), 3);
  });

  it('a client pipelining more than the server takes gets every request read answered, then the connection ends', async (t) => {
    // the connection is held at its cap past the headers timeout, with a request cut by the held read
    const node = await startTestNode(t, {
      roundIntervalMs: 1500,
      httpLimits: { maxRequestsPerConnection: 2, headersTimeoutMs: 500 },
    });
    const sent = digests(2);
    const connection = await pipeline(node.url, sent);
    await connection.write('POST /digest HTTP/1.1\r\nHost: x\r\n');
    const error = await connection.closed;
    assert.equal(error, undefined);
    assertProofs(connection.answers, sent);
    assert.equal(connection.answers.at(-1)?.headers.connection, 'close');
  });
  it('ends a cut connection after the answer last on the wire, though an earlier request was answered last', async (t) => {
    // the GETs are refused at once, the digest waits for its round: its answer goes out last in time
    // but first on the wire, and a Connection: close on it would drop the three queued behind it
    const node = await startTestNode(t, {
      roundIntervalMs: 2000,
      httpLimits: { maxRequestsPerConnection: 4, headersTimeoutMs: 500 },
    });
    const connection = await RawConnection.open(node.url);
    t.after(() => connection.destroy());
    const bad = 'GET /timestamp/zz HTTP/1.1\r\nHost: x\r\n\r\n';
    await connection.write(
      Buffer.concat([
        digestRequest(randomBytes(32)),
        Buffer.from(bad.repeat(3)),
        Buffer.from('GET / HTTP/1.1\r\nHo'),
      ]),
    );
    assert.equal(await connection.closed, undefined);
    assert.deepEqual(
      connection.answers.map((a) => a.status),
      [200, 400, 400, 400],
    );
  });
});

describe('closing with requests in flight', () => {
  it('answers every request pipelined before the close, then ends each connection', async (t) => {
    const node = await startTestNode(t, { roundIntervalMs: 300 });
    const sent = Array.from({ length: 8 }, () => digests(5));
    const connections = await Promise.all(sent.map((s) => pipeline(node.url, s)));
    t.after(() => {
      for (const c of connections) c.destroy();
    });
    await waitFor('every request read', () => (node.aggregator?.unanswered === 40 ? true : undefined));
    await node.close();
    await Promise.all(connections.map((c) => c.closed));
    connections.forEach((c, i) => {
      assertProofs(c.answers, sent[i] as Uint8Array[]);
    });
  });

  it('closes, past the linger bound, a connection whose client reads none of its answers', async (t) => {
    const node = await startTestNode(t, { roundIntervalMs: 50, httpLimits: { headersTimeoutMs: 1000 } });
    const stalled = await nonReader(node.url, 3000);
    t.after(() => stalled.socket.destroy());
    await new Promise((resolve) => setTimeout(resolve, 500));
    // without the bound the close waits for this client for ever
    const closed = await Promise.race([
      node.close().then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 20_000).unref()),
    ]);
    assert.ok(closed, 'the server closed within 20 s');
    assert.ok(await stalled.closedWithin(5000), 'the server closed the connection');
  });

  // one request, or a batch that comes in one read (an answer that ended the connection would leave
  // the rest of the batch unanswered)
  for (const batch of [1, 8]) {
    it(`answers 503 to ${batch} request(s) sent on an idle keep-alive connection as the close begins, then ends it`, async (t) => {
      const node = await startTestNode(t, { roundIntervalMs: 20 });
      const connections = await Promise.all(Array.from({ length: 8 }, () => pipeline(node.url, digests(1))));
      t.after(() => {
        for (const c of connections) c.destroy();
      });
      await Promise.all(connections.map((c) => c.answered(1)));
      // idle now: each sends its next requests, and the close begins in the same tick, before the
      // server reads any of them
      for (const c of connections) c.socket.write(Buffer.concat(digests(batch).map(digestRequest)));
      await node.close();
      for (const c of connections) {
        assert.equal(await c.closed, undefined);
        assert.deepEqual(
          c.answers.map((a) => a.status),
          [200, ...Array(batch).fill(503)],
        );
        assert.equal(c.answers[1]?.body.toString(), 'calendar shutting down, retry later');
      }
    });
  }
});
