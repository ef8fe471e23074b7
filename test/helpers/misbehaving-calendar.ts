/**
 * A FAKE upstream calendar, for faults a real one does not produce: it answers POST /digest with
 * garbage, with a real calendar's answer for another digest, with an endless body (as an answer or
 * as an error), or not at all.
 * Everything else (and mode 'honest') is passed through to the real calendar behind it, and the real
 * answers to POST /digest are recorded.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { TestContext } from 'node:test';
import { listenOnLoopback } from './loopback-server.js';

export type Misbehaviour =
  | 'honest'
  | 'garbage'
  | 'other-tip'
  | 'endless'
  | 'endless-error'
  | 'hang'
  | 'error';

export interface MisbehavingCalendar {
  url: string;
  mode: Misbehaviour;
  /** POST /digest requests received. */
  posts: number;
  /** The bodies of the real calendar's answers passed on in mode 'honest'. */
  answers: Uint8Array[];
}

export async function startMisbehavingCalendar(
  t: TestContext,
  realCalendar: string,
  mode: Misbehaviour,
): Promise<MisbehavingCalendar> {
  const state: MisbehavingCalendar = { url: '', mode, posts: 0, answers: [] };
  const forward = async (req: IncomingMessage, res: ServerResponse, body?: Uint8Array) => {
    const answer = await fetch(`${realCalendar}${req.url}`, {
      method: req.method ?? 'GET',
      ...(body && { body }),
    });
    const bytes = new Uint8Array(await answer.arrayBuffer());
    if (body && state.mode === 'honest') state.answers.push(bytes);
    res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'text/plain' });
    res.end(bytes);
  };
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (req.method !== 'POST' || req.url !== '/digest') return forward(req, res);
    state.posts++;
    switch (state.mode) {
      case 'honest':
        return forward(req, res, Buffer.concat(chunks));
      case 'garbage':
        res.writeHead(200).end(Buffer.from('f0ff00ffee', 'hex'));
        return;
      case 'other-tip':
        // a well-formed answer from the real calendar, but for a digest we were not sent
        return forward(req, res, crypto.getRandomValues(new Uint8Array(32)));
      case 'endless':
      case 'endless-error': {
        res.writeHead(state.mode === 'endless' ? 200 : 500);
        const block = new Uint8Array(64 * 1024);
        // bounded, so a broken client cannot make the test run forever
        for (let sent = 0; sent < 1024 && !res.destroyed; sent++) {
          if (!res.write(block)) await new Promise((resolve) => res.once('drain', resolve));
        }
        res.end();
        return;
      }
      case 'hang':
        return; // never answered; the socket is destroyed when the test ends
      case 'error':
        res.writeHead(500, { 'content-type': 'text/plain' }).end('upstream broke');
        return;
    }
  });
  state.url = await listenOnLoopback(t, server);
  return state;
}
