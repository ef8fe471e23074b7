/**
 * One thread of the benchmarks' load generator (bench/load.ts): raw HTTP/1.1 over node:net, no
 * http.Agent, so that a request costs the client a few microseconds and a row measures the server.
 *
 * Open loop: requests are due at a fixed rate whatever the server does, and each one's latency runs
 * from the time it was due (a late send counts against the server, not for it; the send lag says
 * whether this thread kept its schedule). Each request gets a new connection (`Connection: close`,
 * closed by the server, as a client that does not keep connections), or an idle keep-alive connection
 * from a pool that grows when none is idle. Closed loop: `connections` keep-alive connections, each
 * sending its next request when the last is answered; its rate is each connection's answers between
 * its first and its last answer (steadyPerSecond), not the answers to requests sent in the window:
 * clients bound by a server's rounds are answered a round at a time, and a window of 4 s held 41
 * rounds of answers or 40 as the rounds' phase fell, a fencepost of one round in 40.
 * @module
 */
import { randomFillSync } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';

export interface WorkerJob {
  host: string;
  port: number;
  method: 'GET' | 'POST';
  /** Paths to pick from at random; a POST sends a fresh random 32-byte digest each time. */
  paths: string[];
  durationMs: number;
  /** Longest a request may take; past it its connection is destroyed and it counts as a timeout. */
  timeoutMs: number;
  mode: { kind: 'open'; rate: number; keepAlive: boolean } | { kind: 'closed'; connections: number };
}

export interface WorkerResult {
  /** Requests sent (open loop: due and sent while the run lasted). */
  sent: number;
  /** Latency of every answered request, ms. */
  latencies: Float64Array;
  statuses: Record<string, number>;
  /** Requests that got no answer, by why (ECONNRESET, ECONNREFUSED, timeout, closed...). */
  errors: Record<string, number>;
  /** Open loop: how late sends were against their schedule, ms (99th percentile and most). */
  sendLagP99ms: number;
  sendLagMaxMs: number;
  /** Connections opened. */
  connections: number;
  elapsedMs: number;
  /**
   * Closed loop: answers a second in the steady state, the sum over connections of (answers - 1) /
   * (time from its first answer to its last, at least to the end of sending); 0 in open loop.
   */
  steadyPerSecond: number;
}

const DIGEST_BYTES = 32;

/** An HTTP answer read off a socket: the status once its body (Content-Length) is complete. */
class AnswerReader {
  private buffered: Buffer | undefined;

  /** Feeds `chunk`; returns the answers completed by it (status, and whether it ends the connection). */
  read(chunk: Buffer, done: (status: number, closes: boolean) => void): void {
    let data = this.buffered ? Buffer.concat([this.buffered, chunk]) : chunk;
    for (;;) {
      const headEnd = data.indexOf('\r\n\r\n');
      if (headEnd < 0) break;
      const head = data.toString('latin1', 0, headEnd).toLowerCase();
      const length = /\r\ncontent-length: *(\d+)/.exec(head);
      if (!length) throw new Error(`load: an answer without Content-Length: ${head.slice(0, 200)}`);
      const end = headEnd + 4 + Number(length[1]);
      if (data.byteLength < end) break;
      done(Number(head.slice(9, 12)), head.includes('\r\nconnection: close'));
      data = data.subarray(end);
    }
    this.buffered = data.byteLength > 0 ? data : undefined;
  }
}

function run(job: WorkerJob): Promise<WorkerResult> {
  const hostHeader = `Host: ${job.host}:${job.port}\r\n`;
  const newConnections = job.mode.kind === 'open' && !job.mode.keepAlive;
  const close = newConnections ? 'Connection: close\r\n' : '';
  const heads = job.paths.map((path) =>
    Buffer.from(
      job.method === 'POST'
        ? `POST ${path} HTTP/1.1\r\n${hostHeader}${close}Content-Length: ${DIGEST_BYTES}\r\n\r\n`
        : `GET ${path} HTTP/1.1\r\n${hostHeader}${close}\r\n`,
      'latin1',
    ),
  );
  const nextRequest = (): Buffer => {
    const head = heads[Math.floor(Math.random() * heads.length)] as Buffer;
    if (job.method === 'GET') return head;
    const request = Buffer.allocUnsafe(head.byteLength + DIGEST_BYTES);
    head.copy(request);
    randomFillSync(request, head.byteLength);
    return request;
  };

  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  const errors: Record<string, number> = {};
  const lags: number[] = [];
  let sent = 0;
  let opened = 0;
  let inFlight = 0;
  let sending = true;
  const started = performance.now();
  const end = started + job.durationMs;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const maybeFinish = () => {
    if (!sending && inFlight === 0) finish();
  };

  /** A connection carrying one request at a time; `onIdle` is told when it can take the next. */
  class Connection {
    readonly socket: Socket;
    reusable = true;
    private current: { due: number; timer: NodeJS.Timeout } | undefined;
    answers = 0;
    firstAnswerAt = 0;
    lastAnswerAt = 0;

    constructor(onIdle: (connection: Connection) => void) {
      opened++;
      this.socket = connect({ host: job.host, port: job.port, noDelay: true });
      const reader = new AnswerReader();
      this.socket.on('data', (chunk: Buffer) =>
        reader.read(chunk, (status, closes) => {
          if (!this.current) return;
          const now = performance.now();
          latencies.push(now - this.current.due);
          if (this.answers++ === 0) this.firstAnswerAt = now;
          this.lastAnswerAt = now;
          statuses[status] = (statuses[status] ?? 0) + 1;
          this.settle();
          if (closes || newConnections || !sending) {
            this.reusable = false;
            this.socket.end();
          } else onIdle(this);
          maybeFinish();
        }),
      );
      this.socket.on('error', (e: NodeJS.ErrnoException) => this.fail(e.code ?? e.message));
      this.socket.on('close', () => this.fail('closed'));
    }

    /** Sends the next request; its latency runs from `due`. */
    send(due: number): void {
      inFlight++;
      sent++;
      const timer = setTimeout(() => {
        this.fail('timeout');
        this.socket.destroy();
      }, job.timeoutMs);
      this.current = { due, timer };
      this.socket.write(nextRequest());
    }

    private settle(): void {
      if (!this.current) return;
      clearTimeout(this.current.timer);
      this.current = undefined;
      inFlight--;
    }

    private fail(why: string): void {
      this.reusable = false;
      if (this.current) errors[why] = (errors[why] ?? 0) + 1;
      this.settle();
      maybeFinish();
    }
  }

  const stopSending = () => {
    sending = false;
    maybeFinish();
  };
  const closedLoopConnections: Connection[] = [];
  /**
   * A closed-loop connection's answers a second from its first answer to its last, or to the end of
   * sending for one that ended early (the server closed it): its missing answers count against the rate.
   * Its limits: a connection answered once counts 0 (a row whose rounds are as long as its window
   * reads 0/s), and the rates of connections whose spans do not overlap (late connects, a server
   * unfair among connections) add up to more than the server gave; neither holds in the rows of
   * bench/ (4 s windows, rounds of 100 ms to 1 s, connections opened at once).
   */
  const steadyRate = (c: Connection) => {
    const span = Math.max(c.lastAnswerAt, end) - c.firstAnswerAt;
    return c.answers > 1 && span > 0 ? (1000 * (c.answers - 1)) / span : 0;
  };
  if (job.mode.kind === 'closed') {
    const again = (connection: Connection) => connection.send(performance.now());
    for (let i = 0; i < job.mode.connections; i++) {
      const connection = new Connection(again);
      closedLoopConnections.push(connection);
      connection.socket.once('connect', () => again(connection));
    }
    setTimeout(stopSending, job.durationMs);
  } else {
    const { rate, keepAlive } = job.mode;
    const idle: Connection[] = [];
    const sendOne = (due: number) => {
      lags.push(performance.now() - due);
      let connection = keepAlive ? idle.pop() : undefined;
      while (connection && !connection.reusable) connection = idle.pop();
      (connection ?? new Connection((c) => idle.push(c))).send(due);
    };
    let due = 0;
    const tick = () => {
      const now = performance.now();
      // every request due by now, each with its own due time
      for (
        let at = started + (due * 1000) / rate;
        at <= Math.min(now, end);
        at = started + (due * 1000) / rate
      ) {
        sendOne(at);
        due++;
      }
      if (now < end) return void setTimeout(tick, 1);
      for (const connection of idle) connection.socket.end();
      stopSending();
    };
    tick();
  }

  return finished.then(() => {
    lags.sort((a, b) => a - b);
    return {
      sent,
      latencies: Float64Array.from(latencies),
      statuses,
      errors,
      sendLagP99ms: lags[Math.floor(lags.length * 0.99)] ?? 0,
      sendLagMaxMs: lags[lags.length - 1] ?? 0,
      connections: opened,
      elapsedMs: performance.now() - started,
      steadyPerSecond: closedLoopConnections.reduce((total, c) => total + steadyRate(c), 0),
    };
  });
}

const result = await run(workerData as WorkerJob);
parentPort?.postMessage(result, [result.latencies.buffer as ArrayBuffer]);
