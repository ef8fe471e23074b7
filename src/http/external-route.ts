/**
 * External stamping's routes: `GET /external/tips` (the tips a donor may commit to, and what is pending
 * for each), `POST /external/tx` (a donation, raw bytes or hex: 202 once checked, relayed and journaled;
 * the same transaction again, 200 with its state) and `GET /external/tx/<txid>` (its state). Every
 * refusal names the donation rule broken; a post that finds too many waiting to be checked (in all, or
 * from its client's address) is answered 429, and a node that does not answer 503.
 * @module
 */
import type { FastifyInstance } from 'fastify';
import {
  DEFAULT_EXTERNAL_SETTINGS,
  type ExternalStamping,
  IntakeBusy,
} from '../anchoring/external-stamping.js';
import { DonationRefused, type Refusal } from '../bitcoin/donation-rules.js';
import { RpcError } from '../bitcoin/rpc-client.js';
import { HttpError, type HttpErrorDefinition, HttpErrors } from './errors.js';

export const EXTERNAL_TX_ROUTE = '/external/tx';

/** What each refusal answers. */
const REFUSAL_ERRORS: Record<Refusal, HttpErrorDefinition> = {
  'not-a-transaction': HttpErrors.EXTERNAL_NOT_A_TRANSACTION,
  'too-large': HttpErrors.EXTERNAL_TOO_LARGE,
  version: HttpErrors.EXTERNAL_REFUSED,
  inputs: HttpErrors.EXTERNAL_REFUSED,
  'input-witness': HttpErrors.EXTERNAL_REFUSED,
  sequence: HttpErrors.EXTERNAL_REFUSED,
  'lock-time': HttpErrors.EXTERNAL_REFUSED,
  'op-return': HttpErrors.EXTERNAL_REFUSED,
  change: HttpErrors.EXTERNAL_REFUSED,
  'tip-repeated': HttpErrors.EXTERNAL_REFUSED,
  'tip-not-offered': HttpErrors.EXTERNAL_TIP_NOT_OFFERED,
  'tip-proven': HttpErrors.EXTERNAL_TIP_PROVEN,
  'input-not-confirmed': HttpErrors.EXTERNAL_REFUSED,
  'fee-rate': HttpErrors.EXTERNAL_REFUSED,
  conflict: HttpErrors.EXTERNAL_CONFLICT,
  'tip-full': HttpErrors.EXTERNAL_CONFLICT,
  'too-many': HttpErrors.EXTERNAL_TOO_MANY,
  bumps: HttpErrors.EXTERNAL_CONFLICT,
  'node-refused': HttpErrors.EXTERNAL_REFUSED,
};

const HEX = /^(?:[0-9a-fA-F]{2})+$/;
const TXID = /^[0-9a-f]{64}$/;

/** The body as sent: raw bytes, or the same as hex (whitespace around it ignored). */
function transactionBytes(body: Buffer): Buffer {
  const text = body.toString('latin1').trim();
  return HEX.test(text) ? Buffer.from(text, 'hex') : body;
}

/** With `external` undefined (not enabled), every route answers that it is not. */
export function externalRoutes(app: FastifyInstance, external: ExternalStamping | undefined): void {
  const maxTxBytes = external?.settings.maxTxBytes ?? DEFAULT_EXTERNAL_SETTINGS.maxTxBytes;
  const enabled = (): ExternalStamping => {
    if (!external) throw new HttpError(HttpErrors.EXTERNAL_NOT_ENABLED);
    return external;
  };
  app.get('/external/tips', async (_request, reply) =>
    reply.header('cache-control', 'public, max-age=10').send(enabled().tipsView()),
  );
  app.post(EXTERNAL_TX_ROUTE, { bodyLimit: 2 * maxTxBytes + 2 }, async (request, reply) => {
    const stamping = enabled();
    const raw = transactionBytes((request.body as Buffer | undefined) ?? Buffer.alloc(0));
    let posted: Awaited<ReturnType<ExternalStamping['post']>>;
    try {
      posted = await stamping.post(new Uint8Array(raw), request.ip);
    } catch (e) {
      if (e instanceof DonationRefused) throw new HttpError(REFUSAL_ERRORS[e.refusal], undefined, e.message);
      if (e instanceof IntakeBusy) throw new HttpError(HttpErrors.EXTERNAL_BUSY, undefined, e.message);
      if (e instanceof RpcError) throw new HttpError(HttpErrors.NODE_UNAVAILABLE, e);
      throw e;
    }
    return reply
      .code(posted.taken ? 202 : 200)
      .header('cache-control', 'no-cache')
      .send(posted.donation);
  });
  app.get('/external/tx/:txid', async (request, reply) => {
    const { txid } = request.params as { txid: string };
    if (!TXID.test(txid)) throw new HttpError(HttpErrors.EXTERNAL_TXID_NOT_HEX);
    const donation = enabled().donation(txid);
    if (!donation) throw new HttpError(HttpErrors.EXTERNAL_TX_UNKNOWN);
    return reply.header('cache-control', 'no-cache').send(donation);
  });
}
