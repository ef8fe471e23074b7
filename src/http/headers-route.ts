/**
 * `GET /bitcoin/headers?from=H&count=N`: block headers from the calendar's node, 80 bytes each, so a
 * mirror without a node of its own can check the proofs it copies (proof of work and continuity).
 */
import type { FastifyInstance } from 'fastify';
import { HttpError, HttpErrors } from './errors.js';

export const MAX_HEADERS_PER_REQUEST = 2000;

/** Headers from `from` on (fewer than `count` near the tip), and the network they belong to. */
export type HeaderSource = (
  from: number,
  count: number,
) => Promise<{ network: string; headers: Uint8Array[] }>;

export function headersRoute(app: FastifyInstance, source: HeaderSource): void {
  app.get<{ Querystring: { from?: string; count?: string } }>('/bitcoin/headers', async (request, reply) => {
    const from = Number(request.query.from);
    const count = Number(request.query.count ?? 1);
    if (
      !Number.isInteger(from) ||
      from < 0 ||
      !Number.isInteger(count) ||
      count < 1 ||
      count > MAX_HEADERS_PER_REQUEST
    ) {
      throw new HttpError({
        ...HttpErrors.BAD_REQUEST,
        text: `from must be a height, count 1..${MAX_HEADERS_PER_REQUEST}`,
      });
    }
    let network: string;
    let headers: Uint8Array[];
    try {
      ({ network, headers } = await source(from, count));
    } catch (e) {
      throw new HttpError(HttpErrors.NODE_UNAVAILABLE, e);
    }
    if (headers.length === 0)
      throw new HttpError({
        ...HttpErrors.ROUTE_NOT_FOUND,
        text: 'no block at that height yet',
        cacheControl: 'no-cache',
      });
    return reply
      .header('content-type', 'application/octet-stream')
      .header('cache-control', 'public, max-age=60')
      .header('x-otsd-network', network)
      .send(Buffer.concat(headers));
  });
}
