/**
 * The hot routes served straight on node:http, ahead of fastify: POST /digest and GET /timestamp/<hex>,
 * which clients send by the thousand a second. fastify's routing, hooks and reply objects cost as much
 * as the rest of such a request; here a request costs a few checks and one write.
 *
 * The answers are fastify's, byte for byte but for the Date (test/http/fast-path.test.ts compares
 * them): the same route logic (digest-route.ts, timestamp-route.ts), the same error catalogue, logging
 * and counts (errors.ts, error-log.ts), the same request account (request-log.ts), and the headers the
 * app's hooks add (CORS; Connection: close when connections.ts ends a connection with an answer).
 * The fast path takes only requests whose answer depends on nothing else: anything the app would refuse
 * before routing (closing, overloaded, URL too long, no Host), a body that is not plainly at most a
 * digest long, a target that is not `/digest` or `/timestamp/` and hex digits, every other route and
 * method, goes to fastify untouched.
 * @module
 */
import type { IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import { type Aggregator, type DigestReceiver, MAX_DIGEST_BYTES } from '../aggregator/aggregator.js';
import type { Calendar } from '../calendar/calendar.js';
import type { Connections } from './connections.js';
import { DIGEST_HEADERS, DIGEST_ROUTE, httpErrorOf } from './digest-route.js';
import type { HttpErrorLog } from './error-log.js';
import { errorHeaders, errorText, HttpError, type HttpErrorDefinition, HttpErrors } from './errors.js';
import type { RequestLog } from './request-log.js';
import {
  commitmentOf,
  type PendingDescriber,
  PROOF_HEADERS,
  proofOf,
  TIMESTAMP_PATH,
  TIMESTAMP_ROUTE,
} from './timestamp-route.js';
import type { FinishedAnswer, TrackedResponse } from './tracked-response.js';

export interface FastPathOptions {
  /** Takes digests; without it POST /digest goes to fastify (which says this node takes none). */
  aggregator: Aggregator | undefined;
  /** Serves proofs; without it GET /timestamp goes to fastify. */
  calendar: Calendar | undefined;
  describePending: PendingDescriber | undefined;
  connections: Connections;
  /** Why the app refuses a request before any route (see app.ts), if it does. */
  refusalOf: (req: IncomingMessage) => HttpErrorDefinition | undefined;
  errorLog: HttpErrorLog;
  requestLog: RequestLog;
}

/** A request handler that answers the requests it takes and returns false for the rest. */
export type FastPath = (req: IncomingMessage, res: TrackedResponse) => boolean;

export function fastPath(options: FastPathOptions): FastPath {
  const { aggregator, calendar, describePending, connections, refusalOf, errorLog, requestLog } = options;

  /**
   * One request taken: its answer is written with the app's headers, then accounted for. A digest's
   * exchange is its receiver in the aggregator, without a promise between them (see DigestReceiver).
   */
  class Exchange implements FinishedAnswer, DigestReceiver {
    private readonly req: IncomingMessage;
    private readonly res: TrackedResponse;
    /** The route pattern, as fastify names it. */
    private readonly route: string;
    /** The headers of a 200 answer, besides those of every answer. */
    private readonly headers: Readonly<Record<string, string>>;
    private readonly started = performance.now();
    private readonly id = requestLog.nextId();

    /** Set when the answer is sent. */
    private status = 0;

    constructor(
      req: IncomingMessage,
      res: TrackedResponse,
      route: string,
      headers: Readonly<Record<string, string>>,
    ) {
      this.req = req;
      this.res = res;
      this.route = route;
      this.headers = headers;
    }

    send(status: number, headers: Readonly<Record<string, string>>, body: Uint8Array | string): void {
      const { res } = this;
      const head: Record<string, string> = { 'access-control-allow-origin': '*', ...headers };
      if (connections.sending(res)) head.connection = 'close';
      // as the app's onSend: a closing server's connection ends by lingering, and says nothing of it
      else if (connections.closing) res.removeHeader('connection');
      head['content-length'] = String(Buffer.byteLength(body));
      this.status = status;
      res.account = this;
      res.writeHead(status, head);
      res.end(body);
    }

    /** As fastify's onResponse: an answer never written (its client gone) is not accounted for. */
    finished(): void {
      const { req } = this;
      const ms = performance.now() - this.started;
      requestLog.finished(this.id, req.method as string, req.url as string, this.route, this.status, ms);
    }

    /**
     * Answers the error `e` as the app's error handler does: an HttpError as itself, others as bugs.
     * Once an answer is begun (a bug in writing it), none can follow: the connection is closed.
     */
    fail(e: unknown): void {
      if (this.res.headersSent) {
        errorLog.record(HttpErrors.INTERNAL, contextOf(this.req), e);
        this.res.destroy();
        return;
      }
      const [definition, cause, detail] =
        e instanceof HttpError ? [e.definition, e.cause, e.detail] : [HttpErrors.INTERNAL, e, undefined];
      errorLog.record(definition, contextOf(this.req), cause);
      this.send(definition.status, errorHeaders(definition), errorText(definition, detail));
    }

    /** Answers 200 with `bytes`, or the error writing them threw. Never throws: see DigestReceiver. */
    answered(bytes: Uint8Array): void {
      try {
        this.send(200, this.headers, bytes);
      } catch (e) {
        this.fail(e);
      }
    }

    /** A digest refused or not committed: answered as the fastify route does (digest-route.ts). */
    failed(e: Error): void {
      this.fail(httpErrorOf(e));
    }

    /**
     * Answers with the bytes `work` resolves to, or the error it rejects with: one reaction, not a
     * promise more per request for a catch.
     */
    settle(work: Promise<Uint8Array>): void {
      work.then(
        (bytes) => this.answered(bytes),
        (e: unknown) => this.fail(e),
      );
    }
  }

  const serveDigest = (req: IncomingMessage, res: TrackedResponse, to: Aggregator) => {
    const exchange = new Exchange(req, res, DIGEST_ROUTE, DIGEST_HEADERS);
    const chunks: Buffer[] = [];
    // `on`, not `once`, for events a request emits once anyway: `once` wraps each listener in a bound
    // function and its state, which a waiting digest keeps for its whole round
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      // no copy of a body read at once: the aggregator reads the digest as it takes it, and keeps none
      const digest = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
      try {
        to.submitTo(digest, exchange);
      } catch (e) {
        exchange.failed(e as Error);
      }
    });
    // the connection was lost or cut before the body ended (Node answered a timeout itself): fastify
    // counts and logs this as a bad request, and there is no one left to answer
    req.on('error', (e) => errorLog.record(HttpErrors.BAD_REQUEST, contextOf(req), e));
  };

  /** `built`: the answer, when it is built already. */
  const serveProof = (
    req: IncomingMessage,
    res: TrackedResponse,
    from: Calendar,
    hex: string,
    built: Uint8Array | undefined,
  ) => {
    const exchange = new Exchange(req, res, hex === '' ? TIMESTAMP_PATH : TIMESTAMP_ROUTE, PROOF_HEADERS);
    try {
      if (built) exchange.send(200, PROOF_HEADERS, built);
      else exchange.settle(proofOf(from, commitmentOf(hex), describePending));
    } catch (e) {
      exchange.fail(e);
    }
  };

  return (req, res) => {
    if (refusalOf(req) !== undefined) return false;
    const url = req.url as string;
    if (req.method === 'POST') {
      if (url !== DIGEST_ROUTE || aggregator === undefined || !plainDigestBody(req)) return false;
      serveDigest(req, res, aggregator);
      return true;
    }
    if (req.method === 'GET') {
      if (calendar === undefined || !url.startsWith(TIMESTAMP_PATH)) return false;
      const hex = url.slice(TIMESTAMP_PATH.length);
      // most asked for are proved and asked for before, in lowercase: answered at once (only a valid
      // commitment's hex finds an answer; the rest, uppercase included, take the way of a first request)
      const built = calendar.builtAnswer(hex);
      if (built === undefined && !HEX_DIGITS.test(hex)) return false;
      serveProof(req, res, calendar, hex, built);
      return true;
    }
    return false;
  };
}

/** What an error's log line says of the request (a server's request has both). */
const contextOf = (req: IncomingMessage) => ({ method: req.method as string, url: req.url as string });

/** Hex digits only, any number (odd ones are answered as not hex, none as not found, by commitmentOf). */
const HEX_DIGITS = /^[0-9a-fA-F]*$/;

/**
 * A body of at most a digest's length, as Node's parser frames it: a Content-Length it checked, or
 * none (an empty body). A longer or chunked one goes to fastify, which refuses it with its own framing.
 */
function plainDigestBody(req: IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return false;
  const length = req.headers['content-length'];
  return length === undefined || Number(length) <= MAX_DIGEST_BYTES;
}
