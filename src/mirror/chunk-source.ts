/**
 * The upstream's journal as a mirror reads it: the head (validated) and chunks, every body read with
 * a bound so that an endless or oversized answer costs nothing.
 * @module
 */
import { CHUNK_RECORDS } from '../journal/chunk.js';
import { UpstreamGetter } from './upstream-get.js';

/**
 * Most bytes of one chunk: 256 records of 64 KiB on average. An honest chunk is mostly commitment
 * records (about 100 bytes each) with a few proofs and stamps of a few kB; proof and stamp records are
 * at most 256 KiB each (MAX_PAYLOAD_BYTES), and a chunk full of such records is no calendar's.
 */
export const MAX_CHUNK_BYTES = CHUNK_RECORDS * 64 * 1024;
/** Most bytes of a head answer (some 150 bytes of JSON). */
const MAX_HEAD_BYTES = 4096;

export interface UpstreamHead {
  records: number;
  chainHash: string;
}

export class ChunkSource {
  readonly upstream: string;
  /** Aborts every request when the follower stops. */
  signal: AbortSignal | undefined;
  private readonly getter = new UpstreamGetter();

  constructor(
    upstream: string,
    readonly timeoutMs = 30_000,
  ) {
    this.upstream = upstream.replace(/\/+$/, '');
  }

  /** The body of `path`, or undefined when the upstream has no such thing (404). */
  private async get(
    path: string,
    limit: number,
    timeoutMs = this.timeoutMs,
  ): Promise<Uint8Array | undefined> {
    const url = `${this.upstream}${path}`;
    const { status, body } = await this.getter.get(url, { limit, timeoutMs, signal: this.signal });
    if (status === 404) return undefined;
    if (status !== 200) throw new Error(`${url}: HTTP ${status}`);
    return body;
  }

  /** The head; with `after`, held (long poll, `wait` seconds) until it has more than `after` records. */
  async head(after?: number, wait = 25): Promise<UpstreamHead> {
    const query = after === undefined ? '' : `?after=${after}&wait=${wait}`;
    const body = await this.get(`/journal/head${query}`, MAX_HEAD_BYTES, (wait + 10) * 1000);
    if (!body) throw new Error(`${this.upstream}/journal/head: HTTP 404`);
    let json: { records?: unknown; chain_hash?: unknown };
    try {
      json = JSON.parse(new TextDecoder().decode(body));
    } catch {
      throw new Error(`${this.upstream}/journal/head: not JSON`);
    }
    const { records, chain_hash: chainHash } = json ?? {};
    if (
      typeof records !== 'number' ||
      !Number.isSafeInteger(records) ||
      records < 0 ||
      typeof chainHash !== 'string' ||
      !/^[0-9a-f]{64}$/.test(chainHash)
    ) {
      throw new Error(`${this.upstream}/journal/head: not a journal head (records, chain_hash)`);
    }
    return { records, chainHash };
  }

  /** Chunk `k`, or undefined when the upstream says it has not begun (404). */
  async chunk(k: number): Promise<Uint8Array | undefined> {
    return this.get(`/journal/chunk/${k}`, MAX_CHUNK_BYTES);
  }

  /** Ends the connections kept alive to the upstream (a request after this opens another). */
  close(): void {
    this.getter.close();
  }
}
