/**
 * A FAKE upstream, for what no honest calendar does: in front of a real calendar (whose journal the
 * test fills with forged proofs), it serves GET /bitcoin/headers from the test's own headers under a
 * network name of the test's choosing, and can send endless bodies, or bodies of its own (a made-up
 * journal), for the head, chunks or headers.
 * Everything else passes through to the real calendar.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { TestContext } from 'node:test';
import { BLOCK_HEADER_LENGTH, sha256d } from '../../src/ots/index.js';
import { listenOnLoopback } from './loopback-server.js';

export interface ForgingUpstream {
  url: string;
  /** X-OTSD-Network of the headers answers (null: none). */
  network: string | null;
  /** The headers from `from` on, at most `count`. */
  headers: (from: number, count: number) => Uint8Array[];
  /** Paths (prefixes) answered with an endless body instead. */
  endless: string[];
  /** Paths answered with these bodies instead (e.g. a made-up journal head and chunk). */
  bodies: Map<string, Uint8Array | string>;
}

async function sendEndless(res: ServerResponse, network: string | null): Promise<void> {
  res.writeHead(200, {
    'content-type': 'application/octet-stream',
    ...(network !== null && { 'x-otsd-network': network }),
  });
  const block = new Uint8Array(64 * 1024);
  // bounded, so that a reader without a bound cannot make the test run forever
  for (let sent = 0; sent < 4096 && !res.destroyed; sent++) {
    if (!res.write(block)) await new Promise((resolve) => res.once('drain', resolve));
  }
  res.end();
}

export async function startForgingUpstream(t: TestContext, realCalendar: string): Promise<ForgingUpstream> {
  const state: ForgingUpstream = {
    url: '',
    network: 'main',
    headers: () => [],
    endless: [],
    bodies: new Map(),
  };
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (state.endless.some((p) => url.pathname.startsWith(p))) return sendEndless(res, state.network);
    const body = state.bodies.get(url.pathname);
    if (body !== undefined) {
      res.writeHead(200).end(body);
      return;
    }
    if (url.pathname === '/bitcoin/headers') {
      const headers = state.headers(
        Number(url.searchParams.get('from')),
        Number(url.searchParams.get('count')),
      );
      res.writeHead(headers.length ? 200 : 404, {
        'content-type': 'application/octet-stream',
        ...(state.network !== null && { 'x-otsd-network': state.network }),
      });
      res.end(Buffer.concat(headers));
      return;
    }
    try {
      const answer = await fetch(`${realCalendar}${req.url}`, {
        headers: { accept: req.headers.accept ?? '*/*' },
      });
      const body = Buffer.from(await answer.arrayBuffer());
      res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'text/plain' });
      res.end(body);
    } catch {
      res.destroy();
    }
  });
  state.url = await listenOnLoopback(t, server);
  return state;
}

/**
 * A made-up header: `prev` hash, `merkleRoot`, `bits`; with `mine`, its nonce searched until the hash
 * meets the target (cheap only for easy targets such as regtest's).
 */
export function forgeHeader(
  prev: Uint8Array,
  merkleRoot: Uint8Array,
  bits: number,
  mine: boolean,
  time = 1_700_000_000,
): Uint8Array {
  const header = new Uint8Array(BLOCK_HEADER_LENGTH);
  const view = new DataView(header.buffer);
  view.setUint32(0, 0x20000000, true);
  header.set(prev, 4);
  header.set(merkleRoot, 36);
  view.setUint32(68, time, true);
  view.setUint32(72, bits, true);
  const exponent = bits >>> 24;
  const target = BigInt(bits & 0x7fffff) << BigInt(8 * (exponent - 3));
  for (let nonce = 0; mine; nonce++) {
    view.setUint32(76, nonce, true);
    if (BigInt(`0x${Buffer.from(sha256d(header)).reverse().toString('hex')}`) <= target) break;
  }
  return header;
}

/** A chain of forged headers from `height`, the first with `merkleRoot`, linked to each other. */
export function forgeChain(
  height: number,
  merkleRoot: Uint8Array,
  bits: number,
  mine: boolean,
): (from: number, count: number) => Uint8Array[] {
  const chain = new Map<number, Uint8Array>();
  const at = (h: number): Uint8Array => {
    const known = chain.get(h);
    if (known) return known;
    const header =
      h === height
        ? forgeHeader(new Uint8Array(32), merkleRoot, bits, mine)
        : forgeHeader(sha256d(at(h - 1)), new Uint8Array(32).fill(h % 256), bits, mine);
    chain.set(h, header);
    return header;
  };
  return (from, count) =>
    from < height ? [] : Array.from({ length: Math.min(count, 500) }, (_, i) => at(from + i));
}
