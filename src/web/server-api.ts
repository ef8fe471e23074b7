/**
 * What the page asks the server it came from: submit a digest, fetch a commitment's proof, fetch a
 * block header. URLs are relative to the page, so it works behind a proxy that serves the calendar
 * under a path. Every answer is read up to a bound, and every failure is a ServerError in words.
 * @module
 */
import { BLOCK_HEADER_LENGTH, BlockHeader, toHex } from '../ots/index.js';
import { BodyReadError, boundedBody } from '../remote/bounded-body.js';

/** Clients read at most this much of a timestamp (python-opentimestamps reads 10,000 bytes). */
const MAX_TIMESTAMP_ANSWER = 10_000;
/** Error texts are short; more is not read. */
const MAX_ERROR_TEXT = 1000;
const TIMEOUT_MS = 30_000;

/** The server could not be reached, or answered something the page cannot use. */
export class ServerError extends Error {
  override name = 'ServerError';
}

export type ProofAnswer =
  | { state: 'complete'; timestamp: Uint8Array }
  /** 404: the server's reason (pending, or not found). */
  | { state: 'missing'; reason: string };

export interface HeaderAnswer {
  /** Undefined when the server's node has no block at that height. */
  header: BlockHeader | undefined;
  /** The network the server names for its headers (X-OTSD-Network). */
  network: string | undefined;
}

export interface PageServer {
  submit(digest: Uint8Array): Promise<Uint8Array>;
  proof(commitment: Uint8Array): Promise<ProofAnswer>;
  header(height: number): Promise<HeaderAnswer>;
}

/** The server at `base` (the page's own URL in a browser). */
export function pageServer(base: string): PageServer {
  // `cache` is fetch's (Node's too), though Node's RequestInit type lacks it
  const request = async (
    path: string,
    init: RequestInit & { cache?: 'no-cache' } = {},
  ): Promise<Response> => {
    try {
      return await fetch(new URL(path, base), { ...init, signal: AbortSignal.timeout(TIMEOUT_MS) });
    } catch (e) {
      throw new ServerError(`the calendar is unreachable (${(e as Error).message})`);
    }
  };
  const refusal = async (response: Response, what: string): Promise<never> => {
    const text = await readText(response);
    throw new ServerError(`${what}: HTTP ${response.status}${text ? `: ${text}` : ''}`);
  };
  return {
    async submit(digest) {
      const response = await request('digest', { method: 'POST', body: new Uint8Array(digest) });
      if (response.status !== 200) return refusal(response, 'the calendar refused the digest');
      return readBounded(response, MAX_TIMESTAMP_ANSWER);
    },
    async proof(commitment) {
      // "pending" is cached for a minute: a user who checks again wants the calendar's answer of now
      const response = await request(`timestamp/${toHex(commitment)}`, {
        headers: { accept: 'application/vnd.opentimestamps.v1' },
        cache: 'no-cache',
      });
      if (response.status === 200)
        return { state: 'complete', timestamp: await readBounded(response, MAX_TIMESTAMP_ANSWER) };
      if (response.status === 404) return { state: 'missing', reason: await readText(response) };
      return refusal(response, 'the calendar could not answer');
    },
    async header(height) {
      const response = await request(`bitcoin/headers?from=${height}&count=1`);
      const network = response.headers.get('x-otsd-network') ?? undefined;
      if (response.status === 404) {
        const reason = await readText(response);
        // the route's own 404 for a height past the tip; any other 404 means there is no such route
        if (reason === 'no block at that height yet') return { header: undefined, network };
        throw new ServerError('this server serves no Bitcoin block headers');
      }
      if (response.status !== 200) return refusal(response, 'the block header could not be fetched');
      const bytes = await readBounded(response, BLOCK_HEADER_LENGTH);
      if (bytes.byteLength !== BLOCK_HEADER_LENGTH)
        throw new ServerError(`the server sent ${bytes.byteLength} bytes for a block header, not 80`);
      return { header: new BlockHeader(bytes), network };
    },
  };
}

async function readText(response: Response): Promise<string> {
  const body = await readBounded(response, MAX_ERROR_TEXT).catch(() => new Uint8Array());
  return new TextDecoder().decode(body).slice(0, 200);
}

/** Reads the body, giving up as soon as it passes `limit` bytes; failures in words for the page. */
async function readBounded(response: Response, limit: number): Promise<Uint8Array> {
  try {
    return await boundedBody(response, limit);
  } catch (e) {
    throw new ServerError(
      e instanceof BodyReadError && e.tooLong
        ? `the answer is longer than ${limit} bytes: not a timestamp`
        : `the calendar's answer broke off (${(e as Error).message})`,
    );
  }
}
