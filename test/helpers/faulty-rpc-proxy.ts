/**
 * A FAULT INJECTOR in front of a real node's JSON-RPC, for what a real node does not do on demand: it
 * drops the connection of chosen calls for a while (a transport error, as from a node that is
 * restarting or a network that hiccups), holds them until released (a node slow to answer), or changes
 * their answers (a regtest node cannot prune: its blocks stay in one file it never deletes).
 * Everything else is passed through to the node unchanged, and every call is recorded, so a test can
 * count the blocks fetched.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { TestContext } from 'node:test';

/** Bodies of JSON-RPC requests are small; anything longer is refused. */
const MAX_REQUEST_BYTES = 1024 * 1024;

export interface RpcCall {
  method: string;
  params: unknown[];
}

export interface RpcAnswer {
  result: unknown;
  error: { code: number; message: string } | null;
}

export interface FaultyRpcProxy {
  /** The node's URL with the proxy's host and port (credentials kept). */
  url: string;
  /** Every call received, in order, faulty or not. */
  calls: RpcCall[];
  /** Until `heal()`, calls of these methods lose their connection without an answer. */
  drop(methods: string[]): void;
  /** Until `release()`, calls of these methods wait without an answer. */
  hold(methods: string[]): void;
  /** Until `heal()`, the node's answers to `method` pass through `change`. */
  change(method: string, change: (answer: RpcAnswer) => RpcAnswer): void;
  /** Ends every fault: dropped methods answer again, held calls go through, answers are the node's. */
  heal(): void;
}

export async function startFaultyRpcProxy(t: TestContext, nodeUrl: string): Promise<FaultyRpcProxy> {
  const node = new URL(nodeUrl);
  const target = `${node.protocol}//${node.host}${node.pathname}`;
  const sockets = new Set<Socket>();
  let dropped = new Set<string>();
  let held = new Set<string>();
  let changes = new Map<string, (answer: RpcAnswer) => RpcAnswer>();
  let released: Promise<void> = Promise.resolve();
  let release = () => {};
  const calls: RpcCall[] = [];

  const readBody = async (req: IncomingMessage): Promise<Buffer> => {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).byteLength;
      if (size > MAX_REQUEST_BYTES) throw new Error('faulty-rpc-proxy: request too long');
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks);
  };

  const server = createServer((req, res) => {
    (async () => {
      const request = await readBody(req);
      const call = JSON.parse(request.toString('utf8')) as {
        method: string;
        params?: unknown[];
        id: unknown;
      };
      calls.push({ method: call.method, params: call.params ?? [] });
      if (dropped.has(call.method)) {
        req.socket.destroy();
        return;
      }
      if (held.has(call.method)) await released;
      const answer = await fetch(target, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(req.headers.authorization && { authorization: req.headers.authorization }),
        },
        body: request,
      });
      const change = changes.get(call.method);
      const body = change
        ? JSON.stringify({ ...change((await answer.json()) as RpcAnswer), id: call.id })
        : Buffer.from(await answer.arrayBuffer());
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(body);
    })().catch(() => req.socket.destroy());
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    release();
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  const { port } = server.address() as AddressInfo;
  const url = new URL(nodeUrl);
  url.host = `127.0.0.1:${port}`;
  return {
    url: url.toString(),
    calls,
    drop: (methods) => {
      dropped = new Set(methods);
    },
    hold: (methods) => {
      held = new Set(methods);
      released = new Promise((resolve) => {
        release = resolve;
      });
    },
    change: (method, change) => {
      changes.set(method, change);
    },
    heal: () => {
      dropped = new Set();
      changes = new Map();
      held = new Set();
      release();
    },
  };
}

/** The block hashes asked for with `getblock`, in order (a hash asked twice is a block scanned twice). */
export function blocksFetched(calls: readonly RpcCall[]): string[] {
  return calls.filter((c) => c.method === 'getblock').map((c) => String(c.params[0]));
}
