/**
 * GET requests to a mirror's upstream, on node:http or node:https with connections kept alive: a
 * sync asks for a chunk every 256 records, 3,900 requests for a million, and fetch (its
 * AbortSignal.timeout and web streams a request) cost the mirror some 2 s of CPU in an 8 s sync on
 * loopback. Every request has a deadline for the whole answer, body included; a 200's body is read
 * with a bound, so that an endless or oversized answer costs nothing; any other answer's body is not
 * read at all. Redirects are not followed: the upstream is the URL the operator gave.
 * @module
 */
import http from 'node:http';
import https from 'node:https';
import { concatBytes } from '../ots/index.js';
import { overLimit } from '../remote/bounded-body.js';

/** An upstream's answer: a 200's body, an empty one for any other status. */
export interface UpstreamAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Uint8Array;
}

export interface UpstreamGetOptions {
  /** Most bytes of a 200's body. */
  limit: number;
  /** Longest the whole answer may take, body included. */
  timeoutMs: number;
  /** Ends the request at once when it aborts. */
  signal?: AbortSignal | undefined;
}

const EMPTY = new Uint8Array(0);

export class UpstreamGetter {
  private readonly agents = new Map<string, http.Agent>();

  /**
   * Answers `url`, or rejects with an Error naming it: no connection, no whole answer within
   * `timeoutMs`, a body over `limit`, or `signal` aborted.
   */
  get(url: string, options: UpstreamGetOptions): Promise<UpstreamAnswer> {
    const { limit, timeoutMs, signal } = options;
    return new Promise((resolve, reject) => {
      let settled = false;
      let request: http.ClientRequest | undefined;
      const timer = setTimeout(() => fail(`no whole answer within ${timeoutMs} ms`), timeoutMs);
      const onAbort = () => fail('the request was stopped');
      function settle(): boolean {
        if (settled) return false;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        return true;
      }
      function fail(message: string): void {
        if (!settle()) return;
        request?.destroy();
        reject(new Error(`${url}: ${message}`));
      }
      function answer(response: http.IncomingMessage, body: Uint8Array, keep: boolean): void {
        if (!settle()) return;
        // an answer whose body was not read leaves nothing the connection could be used for again
        if (!keep) request?.destroy();
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body });
      }
      if (signal?.aborted) return fail('the request was stopped');
      signal?.addEventListener('abort', onAbort);
      let target: URL;
      try {
        target = new URL(url);
      } catch {
        return fail('not a URL');
      }
      const client = target.protocol === 'https:' ? https : target.protocol === 'http:' ? http : undefined;
      if (!client) return fail('not an http or https URL');
      request = client.get(target, { agent: this.agentOf(target.protocol, client) }, (response) => {
        if (response.statusCode !== 200) return answer(response, EMPTY, false);
        const declared = Number(response.headers['content-length'] ?? 0);
        if (declared > limit) return fail(overLimit(declared, limit, true));
        const parts: Buffer[] = [];
        let length = 0;
        response.on('data', (part: Buffer) => {
          length += part.byteLength;
          if (length > limit) return fail(overLimit(length, limit, false));
          parts.push(part);
        });
        // always a copy, so a buffer of its own: a mirror hands chunks over to another thread
        response.on('end', () => answer(response, concatBytes(...parts), true));
        response.on('error', (e) => fail(e.message));
        response.on('close', () => fail('the connection closed before the answer ended'));
      });
      request.on('error', (e) => fail(e.message));
    });
  }

  /** Ends the connections kept alive. */
  close(): void {
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }

  private agentOf(protocol: string, client: typeof http | typeof https): http.Agent {
    let agent = this.agents.get(protocol);
    if (!agent) {
      agent = new client.Agent({ keepAlive: true });
      this.agents.set(protocol, agent);
    }
    return agent;
  }
}
