/**
 * UpstreamGetter, a mirror's GET requests to its upstream: a 200's body read whole into a buffer of
 * its own, over a connection kept for the next request; any other answer's body never read; a body
 * over its bound, an answer not whole by its deadline, a connection closed midway, a refused
 * connection and a stop each an error naming the URL; TLS for https, with the certificate checked.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { UpstreamGetter } from '../../src/mirror/upstream-get.js';
import { spawnTracked } from '../helpers/child-process.js';
import { freePorts } from '../helpers/free-port.js';
import { listenOnLoopback } from '../helpers/loopback-server.js';
import { selfSignedCert } from '../helpers/self-signed-cert.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';

const UPSTREAM_GET = fileURLToPath(new URL('../../src/mirror/upstream-get.js', import.meta.url));
const BOUNDS = { limit: 1000, timeoutMs: 10_000 };

/** A getter closed when the test ends. */
function getter(t: TestContext): UpstreamGetter {
  const g = new UpstreamGetter();
  t.after(() => g.close());
  return g;
}

/** Writes to `res` every few ms until it closes: a body without end. */
function endless(res: ServerResponse): void {
  const timer = setInterval(() => res.write('x'.repeat(100)), 5);
  res.once('close', () => clearInterval(timer));
}

/** An upstream answering with `handle`; its URL and the connections it was opened. */
async function upstream(t: TestContext, handle: (res: ServerResponse, path: string) => void) {
  const connections = { opened: 0, closed: 0 };
  const server: Server = createServer((req, res) => handle(res, req.url ?? ''));
  server.on('connection', (socket) => {
    connections.opened++;
    socket.once('close', () => connections.closed++);
  });
  return { url: await listenOnLoopback(t, server), connections };
}

describe('UpstreamGetter', () => {
  it("reads a 200's body whole, into a buffer of its own, over one kept-alive connection", async (t) => {
    const { url, connections } = await upstream(t, (res, path) => {
      res.setHeader('x-path', path);
      res.write('first ');
      setTimeout(() => res.end('and last'), 20);
    });
    const g = getter(t);
    for (const path of ['/a', '/b']) {
      const answer = await g.get(`${url}${path}`, BOUNDS);
      assert.equal(answer.status, 200);
      assert.equal(answer.headers['x-path'], path);
      assert.equal(Buffer.from(answer.body).toString(), 'first and last');
      assert.equal(answer.body.byteOffset, 0);
      assert.equal(answer.body.byteLength, answer.body.buffer.byteLength);
    }
    assert.equal(connections.opened, 1);
    g.close();
    await waitFor('close() to end the kept connection', () => (connections.closed === 1 ? true : undefined));
  });

  it('answers another status without reading its body, and follows no redirect', async (t) => {
    const { url } = await upstream(t, (res, path) => {
      if (path === '/moved') {
        res.writeHead(301, { location: `${url}/elsewhere` });
        return res.end();
      }
      res.writeHead(404);
      endless(res);
    });
    const g = getter(t);
    const missing = await g.get(`${url}/missing`, BOUNDS);
    assert.deepEqual([missing.status, missing.body.byteLength], [404, 0]);
    const moved = await g.get(`${url}/moved`, BOUNDS);
    assert.deepEqual([moved.status, moved.headers.location], [301, `${url}/elsewhere`]);
  });

  it('refuses a body over its limit, declared or streamed', async (t) => {
    const { url } = await upstream(t, (res, path) => {
      if (path === '/declared') {
        res.writeHead(200, { 'content-length': '5000' });
        return res.end('x'.repeat(5000));
      }
      endless(res);
    });
    const g = getter(t);
    await assert.rejects(
      g.get(`${url}/declared`, BOUNDS),
      new RegExp(`^Error: ${url}/declared: answer of 5000 bytes is over the 1000-byte limit$`),
    );
    await assert.rejects(
      g.get(`${url}/streamed`, BOUNDS),
      new RegExp(`^Error: ${url}/streamed: answer of over 1000 bytes is over the limit$`),
    );
  });

  it('gives up on an answer not whole by its deadline: none at all, or a body that trickles', async (t) => {
    const { url } = await upstream(t, (res, path) => {
      if (path === '/silent') return;
      const timer = setInterval(() => res.write('x'), 50);
      res.once('close', () => clearInterval(timer));
    });
    const g = getter(t);
    for (const path of ['/silent', '/trickle']) {
      const started = Date.now();
      await assert.rejects(
        g.get(`${url}${path}`, { limit: 1000, timeoutMs: 300 }),
        new RegExp(`^Error: ${url}${path}: no whole answer within 300 ms$`),
      );
      assert.ok(Date.now() - started < 5000, `${path}: gave up after ${Date.now() - started} ms`);
    }
  });

  it('fails when the connection closes midway, or is refused', async (t) => {
    const { url } = await upstream(t, (res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('x'.repeat(10));
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const g = getter(t);
    await assert.rejects(
      g.get(`${url}/cut`, BOUNDS),
      new RegExp(`^Error: ${url}/cut: (aborted|the connection closed before the answer ended)$`),
    );
    const [port] = await freePorts(1);
    await assert.rejects(
      g.get(`http://127.0.0.1:${port}/x`, BOUNDS),
      new RegExp(`^Error: http://127.0.0.1:${port}/x: connect ECONNREFUSED 127.0.0.1:${port}$`),
    );
  });

  it('stops at once when its signal aborts, and does not start when it already has', async (t) => {
    const { url } = await upstream(t, () => undefined);
    const g = getter(t);
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 50);
    const started = Date.now();
    await assert.rejects(
      g.get(`${url}/held`, { ...BOUNDS, signal: stop.signal }),
      new RegExp(`^Error: ${url}/held: the request was stopped$`),
    );
    assert.ok(Date.now() - started < 5000, `stopped after ${Date.now() - started} ms`);
    await assert.rejects(
      g.get(`${url}/held`, { ...BOUNDS, signal: stop.signal }),
      /the request was stopped$/,
    );
  });

  it('refuses what is not an http or https URL', async (t) => {
    const g = getter(t);
    await assert.rejects(
      g.get('ftp://127.0.0.1/x', BOUNDS),
      /^Error: ftp:\/\/127.0.0.1\/x: not an http or https URL$/,
    );
    await assert.rejects(g.get('no url', BOUNDS), /^Error: no url: not a URL$/);
  });

  it('speaks TLS to an https upstream: a certificate it does not trust is refused, one it does is read', async (t) => {
    const dir = tempDir(t);
    const { certFile, keyFile } = selfSignedCert(dir);
    const server = createTlsServer(
      { cert: readFileSync(certFile), key: readFileSync(keyFile) },
      (_req, res) => res.end('over TLS'),
    );
    const url = (await listenOnLoopback(t, server as unknown as Server)).replace('http:', 'https:');
    await assert.rejects(getter(t).get(`${url}/x`, BOUNDS), /self-signed certificate/);
    // trusted as an operator trusts a private CA: NODE_EXTRA_CA_CERTS, read when node starts
    const child = spawnTracked(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { UpstreamGetter } from ${JSON.stringify(UPSTREAM_GET)};
         const g = new UpstreamGetter();
         const a = await g.get(${JSON.stringify(`${url}/x`)}, { limit: 100, timeoutMs: 10000 });
         console.log('answer', a.status, Buffer.from(a.body).toString());
         g.close();`,
      ],
      { env: { ...process.env, NODE_EXTRA_CA_CERTS: certFile } },
    );
    t.after(() => child.stop());
    assert.equal(await child.exited, 0, child.output());
    assert.match(child.output(), /answer 200 over TLS/);
  });
});
