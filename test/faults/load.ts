/**
 * Load that records what a calendar acknowledged: every digest answered 200, with the commitment its
 * timestamp leads to (parsed with otsd's own ots library, as the reliability report's loadgen did),
 * kept before it is counted. Two kinds: clients posting with fetch in a closed loop (keep-alive, as
 * real clients), and raw keep-alive connections that pipeline and know which requests they sent
 * before a given moment (for a stop that must answer them all).
 */
import { randomBytes } from 'node:crypto';
import { PendingAttestation, Timestamp, toHex } from '../../src/ots/index.js';
import { digestRequest, RawConnection } from '../helpers/raw-http.js';

export interface Ack {
  digest: string;
  /** The commitment the calendar keeps for it, the one a restart must still know. */
  commitment: string;
}

/** The commitment `body` (a 200 answer to `digest`) leads to; throws when it is not a timestamp of it. */
export function acknowledged(digest: Uint8Array, body: Uint8Array): Ack {
  const found = Timestamp.fromBytes(digest, body).shortestPathTo((a) => a instanceof PendingAttestation);
  if (!found) throw new Error(`the answer to ${toHex(digest)} reaches no pending attestation`);
  return { digest: toHex(digest), commitment: toHex(found.msg) };
}

export interface LoadCounts {
  ok: number;
  /** 503: busy or shutting down; the client retries. */
  refused: number;
  other: number;
  /** Connections refused, reset or timed out (the node was down or killed). */
  errors: number;
}

export interface DigestLoad {
  readonly acks: Ack[];
  readonly counts: LoadCounts;
  /** Stops the clients; resolves once each has finished its request in progress. */
  stop(): Promise<void>;
}

/**
 * `clients` post random digests to `url()` (asked again for each request: a restarted node may move)
 * in a closed loop, pausing 50 ms after a connection error, until stopped.
 */
export function postDigests(url: () => string, clients: number, timeoutMs = 10_000): DigestLoad {
  const acks: Ack[] = [];
  const counts: LoadCounts = { ok: 0, refused: 0, other: 0, errors: 0 };
  let stopped = false;
  const client = async () => {
    while (!stopped) {
      const digest = randomBytes(32);
      try {
        const res = await fetch(`${url()}/digest`, {
          method: 'POST',
          body: digest,
          signal: AbortSignal.timeout(timeoutMs),
        });
        const body = new Uint8Array(await res.arrayBuffer());
        if (res.status === 200) {
          acks.push(acknowledged(digest, body));
          counts.ok++;
        } else if (res.status === 503) counts.refused++;
        else counts.other++;
      } catch {
        // never acknowledged: the node was down, killed or stopping
        counts.errors++;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  };
  const running = Promise.all(Array.from({ length: clients }, client));
  return {
    acks,
    counts,
    stop: async () => {
      stopped = true;
      await running;
    },
  };
}

export interface SocketLoadResult {
  acks: Ack[];
  counts: LoadCounts;
  /** Requests written before `stopSending()`. */
  sentBefore: number;
  /** Of those, the ones that got no answer. */
  unanswered: number;
}

/**
 * `connections` raw keep-alive connections to `url`, each writing `pipeline` POST /digest at once,
 * then the next batch `thinkMs` (at random, at most) after the last answer. `stopSending()` stops
 * every connection writing; `finish()` waits for each to be answered (then the client closes it) or
 * closed by the server, at most `timeoutMs`.
 */
export async function pipelineDigests(
  url: string,
  options: { connections: number; pipeline: number; thinkMs: number },
): Promise<{ stopSending(): void; finish(timeoutMs: number): Promise<SocketLoadResult> }> {
  const acks: Ack[] = [];
  const counts: LoadCounts = { ok: 0, refused: 0, other: 0, errors: 0 };
  let sending = true;
  let sentBefore = 0;
  const opened = await Promise.all(
    Array.from({ length: options.connections }, () => RawConnection.open(url)),
  );
  const idle: (() => void)[] = [];
  const ends = opened.map(async (connection) => {
    const sent: Uint8Array[] = [];
    let taken = 0;
    const send = () => {
      if (connection.socket.destroyed) return;
      if (!sending) {
        connection.socket.end();
        return;
      }
      const batch = Array.from({ length: options.pipeline }, () => randomBytes(32));
      sent.push(...batch);
      sentBefore += batch.length;
      connection.socket.write(Buffer.concat(batch.map(digestRequest)));
    };
    const take = () => {
      for (; taken < connection.answers.length; taken++) {
        const answer = connection.answers[taken];
        if (answer?.status === 200) {
          acks.push(acknowledged(sent[taken] as Uint8Array, answer.body));
          counts.ok++;
        } else if (answer?.status === 503) counts.refused++;
        else counts.other++;
      }
      if (taken === sent.length) setTimeout(send, Math.random() * options.thinkMs);
    };
    connection.socket.on('data', take);
    idle.push(() => {
      if (taken === sent.length) connection.socket.end();
    });
    send();
    const error = await connection.closed;
    if (error) counts.errors++;
    take();
    return sent.length - taken;
  });
  return {
    stopSending: () => {
      sending = false;
      for (const end of idle) end();
    },
    finish: async (timeoutMs) => {
      const timer = setTimeout(() => {
        for (const connection of opened) connection.destroy();
      }, timeoutMs);
      const unanswered = (await Promise.all(ends)).reduce((sum, u) => sum + u, 0);
      clearTimeout(timer);
      return { acks, counts, sentBefore, unanswered };
    },
  };
}
