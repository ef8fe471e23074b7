/** `GET /timestamp/<hex>`: the Bitcoin proof of a commitment, or why there is none yet. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type Calendar, MAX_COMMITMENT_BYTES } from '../calendar/calendar.js';
import { IndexNotCheckedError } from '../index/full-check.js';
import { HttpError, HttpErrors } from './errors.js';

/** The route patterns, for fastify and the fast path (fast-path.ts) alike: with a commitment, and without. */
export const TIMESTAMP_ROUTE = '/timestamp/:hex';
export const TIMESTAMP_PATH = '/timestamp/';
const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;

/** The headers of a proof answered, besides its length: it never changes once there is one. */
export const PROOF_HEADERS = {
  'content-type': 'application/octet-stream',
  'cache-control': 'public, max-age=31536000',
} as const;

/**
 * What follows /timestamp/ in a request target, as sent: the path's own when the target is in absolute
 * form (`GET http://host/timestamp/<hex>`), where the authority cannot hold a slash.
 */
export function rawCommitment(target: string): string {
  return target.slice(target.indexOf(TIMESTAMP_PATH) + TIMESTAMP_PATH.length);
}

/** Says more about a pending commitment (by its record number): e.g. the transaction it waits in. */
export type PendingDescriber = (record: number) => string | undefined;

/**
 * The commitment `hex` names (as it follows /timestamp/ in the target); an HttpError when it names
 * none: not hex (400), or no commitment's length (as the reference: not found).
 */
export function commitmentOf(hex: string): Buffer {
  if (!HEX_RE.test(hex)) throw new HttpError(HttpErrors.COMMITMENT_NOT_HEX);
  if (hex.length === 0 || hex.length > 2 * MAX_COMMITMENT_BYTES)
    throw new HttpError(HttpErrors.COMMITMENT_NOT_FOUND);
  return Buffer.from(hex, 'hex');
}

/** The proof of `commitment`; an HttpError says why there is none. */
export async function proofOf(
  calendar: Calendar,
  commitment: Uint8Array,
  describePending: PendingDescriber | undefined,
): Promise<Uint8Array> {
  const found = await calendar.answer(commitment).catch((e: unknown) => {
    throw e instanceof IndexNotCheckedError ? new HttpError(HttpErrors.INDEX_NOT_CHECKED, e) : e;
  });
  if (found.state === 'pending') {
    const text = describePending?.(found.record);
    throw new HttpError(text ? { ...HttpErrors.COMMITMENT_PENDING, text } : HttpErrors.COMMITMENT_PENDING);
  }
  if (found.state === 'unknown') throw new HttpError(HttpErrors.COMMITMENT_NOT_FOUND);
  return found.bytes;
}

export function timestampRoute(
  app: FastifyInstance,
  calendar: Calendar,
  describePending?: PendingDescriber,
): void {
  // As in the reference, the commitment is the raw path after /timestamp/, neither cut at a query nor
  // percent-decoded: `/timestamp/abcd?x=1` and `/timestamp/%61%62` are not hex (400, cached for a year)
  const route = async (request: FastifyRequest, reply: FastifyReply) => {
    const proof = await proofOf(calendar, commitmentOf(rawCommitment(request.url)), describePending);
    return reply.headers(PROOF_HEADERS).send(Buffer.from(proof.buffer, proof.byteOffset, proof.byteLength));
  };
  app.get(TIMESTAMP_ROUTE, route);
  // `/timestamp/` with nothing after it: the reference answers as for an unknown commitment
  app.get(TIMESTAMP_PATH, route);
}
