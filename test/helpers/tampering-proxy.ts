/**
 * A FAKE proxy in front of a real calendar, for what a broken cache or a hostile middlebox does to a
 * mirror's downloads (the reliability report's six modes): flip a byte of each journal chunk, cut the
 * connection mid-chunk (Content-Length whole), answer a chunk cut short with a matching length, serve
 * a stale copy of a chunk or of the head remembered earlier, or of both (a cache's stale snapshot), or
 * (a fork) pass everything to another calendar; beyond those, answer 502 to everything (an upstream
 * down), or drop the long poll's query (a cache that answers it at once). Mode 'honest' passes
 * everything through.
 */
import { createServer } from 'node:http';
import type { TestContext } from 'node:test';
import { listenOnLoopback } from './loopback-server.js';

export type Tampering =
  | 'honest'
  | 'flip'
  | 'cut'
  | 'short'
  | 'stale-chunk'
  | 'old-head'
  | 'snapshot'
  | 'down'
  | 'no-wait';

export interface TamperingProxy {
  url: string;
  mode: Tampering;
  /** Where requests go: the real calendar; a test forks the journal by pointing it at another. */
  target: string;
  /** The chunks that 'flip', 'cut' and 'short' tamper with (all by default). */
  chunks: (chunk: number) => boolean;
  /** The byte of a chunk that 'flip' flips. */
  flipAt: (length: number) => number;
  /** How many bytes of a chunk 'short' keeps. */
  shortAt: (length: number) => number;
  /** Answers tampered with so far. */
  tampered: number;
  /** Requests for the head and for chunks so far. */
  requests: { head: number; chunks: number };
  /** Fetches `path` from the target now and keeps it: 'stale-chunk' and 'old-head' serve these copies. */
  remember(path: string): Promise<void>;
}

const CHUNK_PATH = /^\/journal\/chunk\/(\d+)$/;

export async function startTamperingProxy(t: TestContext, calendar: string): Promise<TamperingProxy> {
  const remembered = new Map<string, { status: number; type: string; body: Buffer }>();
  const fetchFromTarget = async (path: string) => {
    const answer = await fetch(`${state.target}${path}`);
    return {
      status: answer.status,
      type: answer.headers.get('content-type') ?? 'application/octet-stream',
      body: Buffer.from(await answer.arrayBuffer()),
    };
  };
  const state: TamperingProxy = {
    url: '',
    mode: 'honest',
    target: calendar,
    chunks: () => true,
    flipAt: (length) => Math.min(100, length >> 1),
    shortAt: (length) => Math.floor(length * 0.6),
    tampered: 0,
    requests: { head: 0, chunks: 0 },
    remember: async (path) => {
      remembered.set(path, await fetchFromTarget(path));
    },
  };
  const server = createServer(async (req, res) => {
    const asked = req.url ?? '/';
    const path = state.mode === 'no-wait' ? asked.replace(/\?.*$/, '') : asked;
    const chunk = CHUNK_PATH.exec(path);
    const head = path.startsWith('/journal/head');
    if (head) state.requests.head++;
    if (chunk) state.requests.chunks++;
    if (state.mode === 'down') {
      res.writeHead(502, { 'content-type': 'text/plain' }).end('bad gateway');
      return;
    }
    const stale =
      ((state.mode === 'stale-chunk' || state.mode === 'snapshot') && chunk) ||
      ((state.mode === 'old-head' || state.mode === 'snapshot') && head)
        ? remembered.get(chunk ? path : '/journal/head')
        : undefined;
    let answer: { status: number; type: string; body: Buffer };
    try {
      answer = stale ?? (await fetchFromTarget(path));
    } catch {
      res.destroy();
      return;
    }
    const { status, type } = answer;
    let body = answer.body;
    if (stale) state.tampered++;
    if (chunk && status === 200 && state.chunks(Number(chunk[1]))) {
      if (state.mode === 'flip') {
        body = Buffer.from(body);
        const at = state.flipAt(body.length);
        body[at] = (body[at] as number) ^ 1;
        state.tampered++;
      } else if (state.mode === 'cut') {
        state.tampered++;
        res.writeHead(status, { 'content-type': type, 'content-length': body.length });
        res.write(body.subarray(0, body.length >> 1));
        res.destroy();
        return;
      } else if (state.mode === 'short') {
        body = body.subarray(0, state.shortAt(body.length));
        state.tampered++;
      }
    }
    res.writeHead(status, { 'content-type': type, 'content-length': body.length }).end(body);
  });
  state.url = await listenOnLoopback(t, server);
  return state;
}
