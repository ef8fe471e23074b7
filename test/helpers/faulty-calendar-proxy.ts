/**
 * A FAULT INJECTOR in front of a real calendar's HTTP API (a master, in the collaboration tests), for
 * what a real calendar does not do on demand. Each fault is on while its name is in `faults`:
 *
 * - down: every connection is dropped before an answer (a calendar that is gone);
 * - slow: every answer comes `slowMs` late;
 * - wrong-tip: POST /digest is passed on with another digest, so the answer is for a tip never sent;
 * - hold-proofs: a complete proof (GET /timestamp/... answered 200) waits until `release()` (a proof
 *   delivered at a chosen moment);
 * - foreign-header: a complete proof's Bitcoin attestation names the block below the real one, whose
 *   merkle root is another (a header not in the calendar's chain);
 * - oversized: a complete proof comes as one path of 8,500 bytes of ops to the real attestation's block;
 * - too-deep: a complete proof comes as 130 ops to the real attestation's block;
 * - no-status: GET / answers an HTML page, as the reference does: no list of masters;
 * - claims-mined: every GET /timestamp/... is answered `Timestamped by transaction <txid>` with the
 *   txid `claimedTxid()` gives at that moment (a master naming whatever transaction it likes);
 * - hides-mined: a `Timestamped by transaction` answer is passed on as `Pending confirmation in
 *   Bitcoin blockchain` (a master that names no transaction: only its proof says it mined);
 * - publishes-confirmations: the JSON status says `anchoring.min_confirmations` is
 *   `publishedConfirmations`.
 *
 * Everything else passes through to the real calendar unchanged; every request is recorded.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { TestContext } from 'node:test';
import {
  BitcoinBlockHeaderAttestation,
  fromHex,
  OpAppend,
  OpSHA256,
  Timestamp,
} from '../../src/ots/index.js';
import { listenOnLoopback } from './loopback-server.js';

export type CalendarFault =
  | 'down'
  | 'slow'
  | 'wrong-tip'
  | 'hold-proofs'
  | 'foreign-header'
  | 'oversized'
  | 'too-deep'
  | 'no-status'
  | 'claims-mined'
  | 'hides-mined'
  | 'publishes-confirmations';

export interface FaultyCalendarProxy {
  url: string;
  faults: Set<CalendarFault>;
  /** How late answers are under 'slow'. */
  slowMs: number;
  /** The txid named under 'claims-mined'. */
  claimedTxid: () => Promise<string>;
  /** The `min_confirmations` published under 'publishes-confirmations'. */
  publishedConfirmations: number;
  /** Method and path of every request received. */
  requests: string[];
  /** Lets the requests held under 'hold-proofs' through (and ends that fault). */
  release(): void;
}

const PROOF_REWRITES: CalendarFault[] = ['foreign-header', 'oversized', 'too-deep'];

/** The real proof of `commitment` rewritten to fail one check, at the height of its first Bitcoin attestation. */
function rewrite(fault: CalendarFault, commitment: Uint8Array, real: Timestamp): Timestamp {
  const found = real.shortestPathTo((a) => a instanceof BitcoinBlockHeaderAttestation);
  if (!found) return real;
  const height = (found.attestation as BitcoinBlockHeaderAttestation).height;
  const made = new Timestamp(commitment);
  let node = made;
  if (fault === 'foreign-header') {
    for (const op of found.ops) node = node.ops.add(op);
    node.attestations.add(new BitcoinBlockHeaderAttestation(height - 1));
    return made;
  }
  if (fault === 'oversized') {
    // each append hashed before the next: no message grows past the 4,096-byte op limit
    for (const size of [3000, 3000, 2500])
      node = node.ops.add(new OpAppend(crypto.getRandomValues(new Uint8Array(size)))).ops.add(new OpSHA256());
  } else {
    for (let i = 0; i < 130; i++) node = node.ops.add(new OpSHA256());
  }
  node.ops.add(new OpSHA256()).attestations.add(new BitcoinBlockHeaderAttestation(height));
  return made;
}

export async function startFaultyCalendarProxy(
  t: TestContext,
  calendar: string,
): Promise<FaultyCalendarProxy> {
  let release = () => {};
  let released = Promise.resolve();
  const proxy: FaultyCalendarProxy = {
    url: '',
    faults: new Set(),
    slowMs: 0,
    claimedTxid: async () => '00'.repeat(32),
    publishedConfirmations: 6,
    requests: [],
    release: () => {
      proxy.faults.delete('hold-proofs');
      release();
    },
  };
  const hold = () => {
    released = new Promise((resolve) => {
      release = resolve;
    });
  };
  hold();
  const read = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  };
  const answer = async (req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? '/';
    proxy.requests.push(`${req.method} ${path}`);
    const body = await read(req);
    if (proxy.faults.has('down')) {
      req.socket.destroy();
      return;
    }
    if (proxy.faults.has('slow')) await new Promise((resolve) => setTimeout(resolve, proxy.slowMs));
    if (req.method === 'GET' && path === '/' && proxy.faults.has('no-status')) {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>calendar</title>');
      return;
    }
    const isProof = req.method === 'GET' && path.startsWith('/timestamp/');
    if (isProof && proxy.faults.has('claims-mined')) {
      const txid = await proxy.claimedTxid();
      res.writeHead(404).end(`Timestamped by transaction ${txid}; waiting for 6 confirmations`);
      return;
    }
    const sent =
      req.method === 'POST' && proxy.faults.has('wrong-tip')
        ? crypto.getRandomValues(new Uint8Array(32))
        : body;
    const upstream = await fetch(`${calendar}${path}`, {
      method: req.method ?? 'GET',
      headers: { accept: req.headers.accept ?? '*/*' },
      ...(req.method === 'POST' && { body: sent }),
    });
    let bytes: Uint8Array = new Uint8Array(await upstream.arrayBuffer());
    // a complete proof waits; a pending answer (the check of a submission) does not
    if (isProof && upstream.status === 200 && proxy.faults.has('hold-proofs')) {
      await released;
      hold();
    }
    if (req.method === 'GET' && path === '/' && proxy.faults.has('publishes-confirmations')) {
      const status = JSON.parse(new TextDecoder().decode(bytes)) as { anchoring?: object };
      status.anchoring = { ...status.anchoring, min_confirmations: proxy.publishedConfirmations };
      bytes = new TextEncoder().encode(JSON.stringify(status));
    }
    if (isProof && upstream.status === 404 && proxy.faults.has('hides-mined')) {
      const text = new TextDecoder().decode(bytes);
      if (text.startsWith('Timestamped by transaction '))
        bytes = new TextEncoder().encode('Pending confirmation in Bitcoin blockchain');
    }
    const fault = PROOF_REWRITES.find((f) => proxy.faults.has(f));
    if (isProof && upstream.status === 200 && fault) {
      const commitment = fromHex(path.slice('/timestamp/'.length));
      bytes = rewrite(fault, commitment, Timestamp.fromBytes(commitment, bytes)).toBytes();
    }
    res.writeHead(upstream.status, {
      'content-type': upstream.headers.get('content-type') ?? 'application/octet-stream',
    });
    res.end(bytes);
  };
  const server = createServer((req, res) => {
    answer(req, res).catch(() => req.socket.destroy());
  });
  t.after(() => release());
  proxy.url = await listenOnLoopback(t, server);
  return proxy;
}
