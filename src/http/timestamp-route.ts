/** `GET /timestamp/<hex>`: the Bitcoin proof of a commitment, or why there is none yet. */
import type { FastifyInstance } from 'fastify';
import { type Calendar, MAX_COMMITMENT_BYTES } from '../calendar/calendar.js';
import { HttpError, HttpErrors } from './errors.js';

const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;

export function timestampRoute(app: FastifyInstance, calendar: Calendar): void {
  const handler = async (hex: string) => {
    if (!HEX_RE.test(hex)) throw new HttpError(HttpErrors.COMMITMENT_NOT_HEX);
    if (hex.length === 0 || hex.length > 2 * MAX_COMMITMENT_BYTES)
      throw new HttpError(HttpErrors.COMMITMENT_NOT_FOUND);
    const found = await calendar.lookup(Buffer.from(hex, 'hex'));
    if (found.state === 'pending') throw new HttpError(HttpErrors.COMMITMENT_PENDING);
    if (found.state === 'unknown') throw new HttpError(HttpErrors.COMMITMENT_NOT_FOUND);
    return Buffer.from(found.timestamp.toBytes());
  };
  app.get<{ Params: { hex: string } }>('/timestamp/:hex', async (request, reply) => {
    const body = await handler(request.params.hex);
    return reply
      .header('content-type', 'application/octet-stream')
      .header('cache-control', 'public, max-age=31536000')
      .send(body);
  });
  // `/timestamp/` with nothing after it: the reference answers as for an unknown commitment
  app.get('/timestamp/', async () => handler(''));
}
