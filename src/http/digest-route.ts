/** `POST /digest`: the raw body, whatever its Content-Type, is a digest of at most 64 bytes. */
import type { FastifyInstance } from 'fastify';
import {
  type Aggregator,
  AggregatorClosedError,
  AggregatorOverloadedError,
} from '../aggregator/aggregator.js';
import { NoUpstreamAnsweredError } from '../aggregator/upstream-sink.js';
import { JournalUnavailableError } from '../journal/outage.js';
import { HttpError, HttpErrors } from './errors.js';

/** The route pattern, for fastify and the fast path (fast-path.ts) alike. */
export const DIGEST_ROUTE = '/digest';

/** The headers of a timestamp answered, besides its length. */
export const DIGEST_HEADERS = { 'content-type': 'application/octet-stream' } as const;

/**
 * The timestamp of `digest` once its round is committed; an HttpError says why there is none. Not an
 * async function: its suspended frame would wait out the round with every digest (thousands a second).
 */
export function timestampOf(aggregator: Aggregator, digest: Uint8Array): Promise<Uint8Array> {
  try {
    return aggregator.submit(digest).catch(rethrowAsHttpError);
  } catch (e) {
    return Promise.reject(httpErrorOf(e));
  }
}

const rethrowAsHttpError = (e: unknown): never => {
  throw httpErrorOf(e);
};

/** The HttpError that says why a digest got no timestamp. */
export function httpErrorOf(e: unknown): HttpError {
  if (e instanceof AggregatorOverloadedError) return new HttpError(HttpErrors.OVERLOADED, e);
  if (e instanceof AggregatorClosedError) return new HttpError(HttpErrors.SHUTTING_DOWN);
  if (e instanceof NoUpstreamAnsweredError) return new HttpError(HttpErrors.NO_UPSTREAM, e);
  if (e instanceof JournalUnavailableError) return new HttpError(HttpErrors.JOURNAL_UNAVAILABLE, e);
  return new HttpError(HttpErrors.COMMIT_FAILED, e);
}

export function digestRoute(app: FastifyInstance, aggregator: Aggregator): void {
  app.post(DIGEST_ROUTE, async (request, reply) => {
    const digest = (request.body as Buffer | undefined) ?? Buffer.alloc(0);
    const timestamp = await timestampOf(aggregator, digest);
    return reply.headers(DIGEST_HEADERS).send(Buffer.from(timestamp));
  });
}
