/** `GET /tip`: the tip of the newest unconfirmed stamping transaction; none until stamping runs. */
import type { FastifyInstance } from 'fastify';
import { HttpError, HttpErrors } from './errors.js';

/** What the stamper offers: the 32-byte tip it is trying to get into a block, if any. */
export type TipSource = () => Uint8Array | undefined;

export function tipRoute(app: FastifyInstance, currentTip: TipSource): void {
  app.get('/tip', async (_request, reply) => {
    const tip = currentTip();
    if (!tip) throw new HttpError(HttpErrors.NO_TIP);
    return reply
      .header('content-type', 'application/octet-stream')
      .header('cache-control', 'public, max-age=10')
      .send(Buffer.from(tip));
  });
}
