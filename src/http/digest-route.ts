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

export function digestRoute(app: FastifyInstance, aggregator: Aggregator): void {
  app.post('/digest', async (request, reply) => {
    const digest = (request.body as Buffer | undefined) ?? Buffer.alloc(0);
    let timestamp: Uint8Array;
    try {
      timestamp = await aggregator.submit(digest);
    } catch (e) {
      if (e instanceof AggregatorOverloadedError) throw new HttpError(HttpErrors.OVERLOADED, e);
      if (e instanceof AggregatorClosedError) throw new HttpError(HttpErrors.SHUTTING_DOWN);
      if (e instanceof NoUpstreamAnsweredError) throw new HttpError(HttpErrors.NO_UPSTREAM, e);
      if (e instanceof JournalUnavailableError) throw new HttpError(HttpErrors.JOURNAL_UNAVAILABLE, e);
      throw new HttpError(HttpErrors.COMMIT_FAILED, e);
    }
    return reply.header('content-type', 'application/octet-stream').send(Buffer.from(timestamp));
  });
}
