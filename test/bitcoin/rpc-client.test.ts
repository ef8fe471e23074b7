/** The node RPC client: credentials from the URL or a cookie file, timeouts, errors without secrets. */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { RpcClient, RpcError } from '../../src/bitcoin/rpc-client.js';
import { tempDir } from '../helpers/temp-dir.js';

/** A JSON-RPC endpoint on loopback answering with `answer`; it records the requests it saw. */
async function endpoint(
  t: TestContext,
  answer: (req: IncomingMessage, body: { method: string }) => { status: number; body: string } | 'hang',
) {
  const seen: { authorization: string | undefined; method: string }[] = [];
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (c) => {
      text += c;
    });
    req.on('end', () => {
      const body = JSON.parse(text) as { method: string };
      seen.push({ authorization: req.headers.authorization, method: body.method });
      const out = answer(req, body);
      if (out === 'hang') return;
      res.writeHead(out.status, { 'content-type': 'application/json' }).end(out.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { port: (server.address() as AddressInfo).port, seen };
}

describe('RpcClient', () => {
  it('sends basic auth from the URL and returns the result', async (t) => {
    const { port, seen } = await endpoint(t, () => ({
      status: 200,
      body: '{"result":42,"error":null,"id":1}',
    }));
    const rpc = new RpcClient({ url: `http://alice:s3cret@127.0.0.1:${port}/` });
    assert.equal(await rpc.call<number>('getblockcount'), 42);
    assert.equal(seen[0]?.authorization, `Basic ${Buffer.from('alice:s3cret').toString('base64')}`);
    assert.equal(rpc.displayUrl, `http://127.0.0.1:${port}/`);
  });

  it('reads credentials from a cookie file', async (t) => {
    const { port, seen } = await endpoint(t, () => ({
      status: 200,
      body: '{"result":"ok","error":null,"id":1}',
    }));
    const cookie = join(tempDir(t), '.cookie');
    writeFileSync(cookie, '__cookie__:abcdef\n');
    await new RpcClient({ url: `http://127.0.0.1:${port}/`, cookieFile: cookie }).call('getbestblockhash');
    assert.equal(seen[0]?.authorization, `Basic ${Buffer.from('__cookie__:abcdef').toString('base64')}`);
  });

  it('reports node errors with their code, and never the credentials', async (t) => {
    const { port } = await endpoint(t, (_req, body) =>
      body.method === 'sendrawtransaction'
        ? {
            status: 500,
            body: '{"result":null,"error":{"code":-26,"message":"min relay fee not met"},"id":1}',
          }
        : { status: 401, body: '' },
    );
    const rpc = new RpcClient({ url: `http://alice:s3cret@127.0.0.1:${port}/` });
    await assert.rejects(
      rpc.call('sendrawtransaction', '00'),
      (e) => e instanceof RpcError && e.code === -26 && /min relay fee not met/.test(e.message),
    );
    await assert.rejects(
      rpc.call('getblockcount'),
      (e) =>
        e instanceof RpcError && /authentication failed/.test(e.message) && !/s3cret|alice/.test(e.message),
    );
  });

  it('times out, and says where, without the credentials', async (t) => {
    const { port } = await endpoint(t, () => 'hang');
    const rpc = new RpcClient({ url: `http://alice:s3cret@127.0.0.1:${port}/`, timeoutMs: 200 });
    await assert.rejects(
      rpc.call('getblockcount'),
      (e) => e instanceof RpcError && /timed out after 200 ms/.test(e.message) && !/s3cret/.test(e.message),
    );
  });

  it('reports a node that is not there', async () => {
    const rpc = new RpcClient({ url: 'http://u:p@127.0.0.1:1/' });
    await assert.rejects(
      rpc.call('getblockcount'),
      (e) =>
        e instanceof RpcError &&
        e.code === undefined &&
        /getblockcount at http:\/\/127\.0\.0\.1:1\//.test(e.message),
    );
  });
});
