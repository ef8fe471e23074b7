/**
 * Every HTTP error otsd answers: one catalogue with a stable code, the status, the short text/plain
 * body clients print (the reference's wording where it has one), caching, and the log level; and the
 * way they are answered, whether fastify routed the request or Node's parser refused it first (the fast
 * path of fast-path.ts answers them with the same headers and text).
 * @module
 */
import { type ServerResponse, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { HttpErrorLog } from './error-log.js';

export interface HttpErrorDefinition {
  code: string;
  status: number;
  text: string;
  cacheControl?: string;
  /** Expected answers (lookups of unknown commitments) log at debug; client mistakes at info; ours at error. */
  level: 'debug' | 'info' | 'warn' | 'error';
  /**
   * An error otsd did not foresee (a bug): logged every time with its stack. Every other answer is
   * expected, and its log lines are summarized (see error-log.ts).
   */
  unexpected?: true;
}

const define = <T extends Record<string, Omit<HttpErrorDefinition, 'code'>>>(defs: T) =>
  Object.fromEntries(Object.entries(defs).map(([code, def]) => [code, { ...def, code: `OTSD_${code}` }])) as {
    [K in keyof T]: HttpErrorDefinition;
  };

const YEAR = 'public, max-age=31536000';
const MINUTE = 'public, max-age=60';
const HOUR = 'public, max-age=3600';

export const HttpErrors = define({
  DIGEST_TOO_LONG: { status: 400, text: 'digest too long', level: 'info' },
  INVALID_CONTENT_LENGTH: { status: 400, text: 'invalid Content-Length', level: 'info' },
  BAD_REQUEST: { status: 400, text: 'bad request', level: 'info' },
  NO_HOST: { status: 400, text: 'an HTTP/1.1 request needs a Host header', level: 'info' },
  COMMITMENT_NOT_HEX: {
    status: 400,
    text: 'commitment must be hex-encoded bytes',
    cacheControl: YEAR,
    level: 'info',
  },
  COMMITMENT_PENDING: {
    status: 404,
    text: 'Pending confirmation in Bitcoin blockchain',
    cacheControl: MINUTE,
    level: 'debug',
  },
  COMMITMENT_NOT_FOUND: { status: 404, text: 'Not found', cacheControl: MINUTE, level: 'debug' },
  PREFIX_NOT_HEX: { status: 400, text: 'prefix must be hex digits, at most 128', level: 'info' },
  PREFIX_TOO_SHORT: { status: 400, text: 'prefix too short', level: 'info' },
  PREFIX_TOO_MANY: {
    status: 400,
    text: 'too many commitments under this prefix; use a longer prefix',
    cacheControl: MINUTE,
    level: 'info',
  },
  NO_SUCH_CHUNK: { status: 404, text: 'no such journal chunk', cacheControl: 'no-cache', level: 'debug' },
  NO_TIP: { status: 404, text: '', level: 'debug' },
  ROUTE_NOT_FOUND: { status: 404, text: 'Not found', cacheControl: HOUR, level: 'info' },
  POST_ROUTE_NOT_FOUND: { status: 404, text: 'not found', cacheControl: HOUR, level: 'info' },
  NOT_AGGREGATING: {
    status: 404,
    text: 'this mirror does not take digests; submit to its upstream calendar',
    level: 'info',
  },
  NOT_A_CALENDAR: {
    status: 404,
    text: 'this aggregator keeps no proofs; ask the calendar named in your timestamp',
    cacheControl: HOUR,
    level: 'info',
  },
  REQUEST_TIMEOUT: { status: 408, text: 'request timeout', level: 'info' },
  URL_TOO_LONG: { status: 414, text: 'URL too long', level: 'info' },
  HEADERS_TOO_LARGE: { status: 431, text: 'request headers too large', level: 'info' },
  UNSUPPORTED_METHOD: { status: 501, text: 'Unsupported method', level: 'info' },
  OVERLOADED: { status: 503, text: 'calendar busy, retry later', level: 'warn' },
  SHUTTING_DOWN: { status: 503, text: 'calendar shutting down, retry later', level: 'info' },
  NO_UPSTREAM: {
    status: 503,
    text: 'no upstream calendar took the digest, retry later',
    level: 'warn',
  },
  // the aggregator logs why a round failed (with the stack) once per round; every digest of the round
  // gets this answer
  COMMIT_FAILED: { status: 503, text: 'could not commit the digest, retry later', level: 'error' },
  // external stamping (POST /external/tx): the body names the donation rule broken and what was found
  EXTERNAL_NOT_A_TRANSACTION: { status: 400, text: 'external tx: not a transaction', level: 'info' },
  EXTERNAL_TOO_LARGE: { status: 413, text: 'external tx: too large', level: 'info' },
  EXTERNAL_REFUSED: { status: 422, text: 'external tx refused', level: 'info' },
  EXTERNAL_TIP_NOT_OFFERED: { status: 404, text: 'external tx: tip not offered', level: 'info' },
  EXTERNAL_TIP_PROVEN: { status: 410, text: 'external tx: tip proven already', level: 'info' },
  EXTERNAL_CONFLICT: { status: 409, text: 'external tx: conflict', level: 'info' },
  EXTERNAL_TOO_MANY: { status: 429, text: 'external tx: too many pending', level: 'info' },
  EXTERNAL_BUSY: {
    status: 429,
    text: 'external tx: too many posts being checked, retry later',
    level: 'info',
  },
  EXTERNAL_NOT_ENABLED: {
    status: 404,
    text: 'this calendar takes no external transactions',
    cacheControl: HOUR,
    level: 'info',
  },
  EXTERNAL_TXID_NOT_HEX: { status: 400, text: 'txid must be 64 hex digits', level: 'info' },
  EXTERNAL_TX_UNKNOWN: { status: 404, text: 'no such external tx', cacheControl: 'no-cache', level: 'debug' },
  NODE_UNAVAILABLE: { status: 503, text: 'the Bitcoin node did not answer, retry later', level: 'warn' },
  // a write to the journal or the index failed (the disk full, an I/O error): otsd retries by itself and
  // takes digests again once a write succeeds; the status page says so meanwhile
  JOURNAL_UNAVAILABLE: {
    status: 503,
    text: 'the calendar cannot write to its disk (full or failing), retry later',
    level: 'warn',
  },
  INDEX_NOT_CHECKED: {
    status: 503,
    text: 'the calendar is checking its index against its journal, retry later',
    level: 'warn',
  },
  INTERNAL: { status: 500, text: 'internal error', level: 'error', unexpected: true },
});

/** Seconds a client should wait after a 503. */
export const RETRY_AFTER_SECONDS = 1;

/** Thrown by handlers; the app's error handler answers it. */
export class HttpError extends Error {
  readonly definition: HttpErrorDefinition;
  /** What the body says after the definition's text (what was found), if anything. */
  readonly detail: string | undefined;
  constructor(definition: HttpErrorDefinition, cause?: unknown, detail?: string) {
    super(definition.text || definition.code, cause === undefined ? undefined : { cause });
    this.name = 'HttpError';
    this.definition = definition;
    this.detail = detail;
  }
}

/** The body of an error answer: the definition's text, then the detail given. */
export const errorText = (definition: HttpErrorDefinition, detail?: string) =>
  detail === undefined ? definition.text : `${definition.text}: ${detail}`;

/** The headers of every error answer, besides its length (and CORS, which every answer has). */
export function errorHeaders(definition: HttpErrorDefinition): Record<string, string> {
  return {
    'content-type': 'text/plain',
    ...(definition.cacheControl && { 'cache-control': definition.cacheControl }),
    ...((definition.status === 503 || definition.status === 429) && {
      'retry-after': String(RETRY_AFTER_SECONDS),
    }),
  };
}

/** Answers `definition` to a request fastify routed, and has it logged. */
export function sendHttpError(
  request: FastifyRequest,
  reply: FastifyReply,
  definition: HttpErrorDefinition,
  log: HttpErrorLog,
  cause?: unknown,
  detail?: string,
) {
  log.record(definition, { method: request.method, url: request.url }, cause);
  return reply.code(definition.status).headers(errorHeaders(definition)).send(errorText(definition, detail));
}

/**
 * Answers `definition` on a connection whose request Node's parser refused before fastify saw it (it
 * cannot be parsed, its headers are too large, it came too slowly), has it logged, and closes the
 * connection.
 */
export function sendClientError(
  socket: Duplex,
  definition: HttpErrorDefinition,
  log: HttpErrorLog,
  cause: unknown,
): void {
  log.record(definition, {}, cause);
  // as Node does: no answer when one is already on its way for an earlier request, it would be corrupted
  const inFlight = (socket as { _httpMessage?: ServerResponse })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    const headers = Object.entries({
      ...errorHeaders(definition),
      'content-length': String(Buffer.byteLength(definition.text)),
      connection: 'close',
    }).map(([name, value]) => `${name}: ${value}\r\n`);
    socket.write(
      `HTTP/1.1 ${definition.status} ${STATUS_CODES[definition.status]}\r\n${headers.join('')}\r\n${definition.text}`,
    );
  }
  socket.destroy();
}
