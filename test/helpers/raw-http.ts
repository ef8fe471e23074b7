/**
 * HTTP/1.1 on raw sockets, for what fetch hides: pipelined requests, half-closed and cut connections,
 * every byte the server answers. Loopback only.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';

export interface RawAnswer {
  /** The status line and the headers, as sent. */
  head: string;
  status: number;
  /** Lower-case names. */
  headers: Record<string, string>;
  body: Buffer;
}

/** One HTTP/1.x answer: status, headers and body bytes (everything after the head). */
export function parseAnswer(answer: string): RawAnswer {
  const end = answer.indexOf('\r\n\r\n');
  assert.ok(end > 0, `an HTTP answer: ${JSON.stringify(answer.slice(0, 200))}`);
  const [statusLine = '', ...lines] = answer.slice(0, end).split('\r\n');
  const headers = Object.fromEntries(
    lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
  );
  return {
    head: answer.slice(0, end),
    status: Number(statusLine.split(' ')[1]),
    headers,
    body: Buffer.from(answer.slice(end + 4), 'latin1'),
  };
}

/**
 * Sends raw bytes and collects everything the server answers (as latin1) until it closes, or `ms`
 * passes and the client goes away. With `halfClose` the client shuts its sending side after the bytes.
 */
export function rawExchange(
  url: string,
  bytes: string | Buffer,
  { ms = 5000, halfClose = false } = {},
): Promise<{ answer: string; closed: boolean; elapsed: number }> {
  const { port } = new URL(url);
  const started = Date.now();
  return new Promise((resolve) => {
    const socket = connect(Number(port), '127.0.0.1', () => {
      socket.write(bytes);
      if (halfClose) socket.end();
    });
    let answer = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ answer, closed: false, elapsed: Date.now() - started });
    }, ms);
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('latin1');
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ answer, closed: true, elapsed: Date.now() - started });
    });
    socket.on('error', () => {});
  });
}

/** A POST /digest of `digest` as bytes on the wire (keep-alive). */
export function digestRequest(digest: Uint8Array): Buffer {
  return Buffer.concat([
    Buffer.from(`POST /digest HTTP/1.1\r\nHost: x\r\nContent-Length: ${digest.byteLength}\r\n\r\n`),
    digest,
  ]);
}

/**
 * A keep-alive connection that writes requests as they come (pipelined when written before the
 * answers) and parses each answer as it arrives, in order. Answers to HEAD requests are not expected.
 */
export class RawConnection {
  readonly socket: Socket;
  readonly answers: RawAnswer[] = [];
  /** Resolves when the connection is closed, with the error that closed it, if any. */
  readonly closed: Promise<Error | undefined>;
  private pending = Buffer.alloc(0);
  private readonly listeners = new Set<() => void>();

  private constructor(socket: Socket) {
    this.socket = socket;
    let error: Error | undefined;
    socket.on('error', (e) => {
      error = e;
    });
    this.closed = new Promise((resolve) => socket.once('close', () => resolve(error)));
    socket.on('data', (chunk: Buffer) => {
      this.pending = Buffer.concat([this.pending, chunk]);
      while (this.takeAnswer());
      for (const listener of this.listeners) listener();
    });
  }

  static open(url: string): Promise<RawConnection> {
    const { port } = new URL(url);
    return new Promise((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1');
      socket.once('connect', () => resolve(new RawConnection(socket)));
      socket.once('error', reject);
    });
  }

  /** Writes `bytes`; resolves once they are handed to the kernel. */
  write(bytes: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(bytes, (e) => (e ? reject(e) : resolve())));
  }

  /** Resolves once `count` answers in all have arrived, or the connection closed first. */
  answered(count: number): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (this.answers.length < count && !this.socket.destroyed) return;
        this.listeners.delete(check);
        resolve();
      };
      this.listeners.add(check);
      this.closed.then(check);
      check();
    });
  }

  destroy(): void {
    this.socket.destroy();
  }

  private takeAnswer(): boolean {
    const end = this.pending.indexOf('\r\n\r\n');
    if (end < 0) return false;
    const head = parseAnswer(this.pending.subarray(0, end + 4).toString('latin1'));
    const length = Number(head.headers['content-length'] ?? 0);
    if (this.pending.byteLength < end + 4 + length) return false;
    this.answers.push({ ...head, body: this.pending.subarray(end + 4, end + 4 + length) });
    this.pending = this.pending.subarray(end + 4 + length);
    return true;
  }
}
