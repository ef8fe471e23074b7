/**
 * A small JSON-RPC client for the node, with a timeout on every call. Only the calls that behave the
 * same on Bitcoin Core, litecoind and bcoin are used. Credentials come from the URL or a cookie file
 * and never appear in errors or logs.
 * @module
 */
import { readFileSync } from 'node:fs';

export class RpcError extends Error {
  override name = 'RpcError';
  /** The node's error code (e.g. -26 for a policy rejection), or undefined for transport errors. */
  readonly code: number | undefined;
  constructor(message: string, code?: number) {
    super(message);
    this.code = code;
  }
}

export interface RpcOptions {
  /** http://user:pass@host:port or http://host:port */
  url: string;
  /** A cookie file (`user:password`), as bitcoind writes it; overrides credentials in the URL. */
  cookieFile?: string;
  timeoutMs?: number;
}

export class RpcClient {
  private readonly endpoint: string;
  private readonly authorization: string | undefined;
  /** The URL without credentials, for messages. */
  readonly displayUrl: string;
  private readonly timeoutMs: number;
  private nextId = 1;

  constructor(options: RpcOptions) {
    const url = new URL(options.url);
    let credentials = url.username
      ? `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`
      : undefined;
    if (options.cookieFile) credentials = readFileSync(options.cookieFile, 'utf8').trim();
    url.username = '';
    url.password = '';
    this.endpoint = url.toString();
    this.displayUrl = this.endpoint;
    this.authorization = credentials ? `Basic ${Buffer.from(credentials).toString('base64')}` : undefined;
    this.timeoutMs = options.timeoutMs ?? 15_000;
  }

  call<T>(method: string, ...params: unknown[]): Promise<T> {
    return this.callWithin<T>(this.timeoutMs, method, ...params);
  }

  /** A call that may take longer than the usual timeout (a scan of the node's UTXO set). */
  async callWithin<T>(timeoutMs: number, method: string, ...params: unknown[]): Promise<T> {
    const id = this.nextId++;
    let response: Response;
    try {
      response = await fetch(this.endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(this.authorization && { authorization: this.authorization }),
        },
        body: JSON.stringify({ jsonrpc: '1.0', id, method, params }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (e) {
      const reason =
        (e as Error).name === 'TimeoutError'
          ? `timed out after ${timeoutMs} ms`
          : ((e as { cause?: Error }).cause?.message ?? (e as Error).message);
      throw new RpcError(`${method} at ${this.displayUrl}: ${reason}`);
    }
    if (response.status === 401 || response.status === 403) {
      throw new RpcError(`${method} at ${this.displayUrl}: authentication failed (HTTP ${response.status})`);
    }
    let body: { result?: T; error?: { code: number; message: string } | null };
    try {
      body = (await response.json()) as typeof body;
    } catch {
      throw new RpcError(`${method} at ${this.displayUrl}: HTTP ${response.status} without a JSON body`);
    }
    if (body.error)
      throw new RpcError(`${method}: ${body.error.message} (code ${body.error.code})`, body.error.code);
    return body.result as T;
  }
}
