/**
 * `GET /timestamps?prefix=<hex>`: every commitment under a hex prefix with its timestamp, so a client
 * can fetch its proof without saying which commitment is its own. See docs/prefix-queries.md.
 */
import type { FastifyInstance } from 'fastify';
import { type Calendar, MAX_COMMITMENT_BYTES } from '../calendar/calendar.js';
import { IndexNotCheckedError } from '../index/full-check.js';
import { encodePrefixAnswer, PREFIX_ANSWER_CONTENT_TYPE } from '../remote/prefix-answer.js';
import { HttpError, HttpErrors } from './errors.js';

export interface PrefixLimits {
  /** Shortest prefix answered, in hex digits. */
  minNibbles: number;
  /** Most entries in one answer; past it the client must use a longer prefix. */
  maxEntries: number;
}

export const DEFAULT_PREFIX_LIMITS: PrefixLimits = { minNibbles: 2, maxEntries: 1000 };

const NIBBLES_RE = /^[0-9a-fA-F]*$/;

/**
 * `roundIntervalMs`: the node's round interval, if it takes digests. An empty answer is wrong once a
 * commitment under the prefix is journaled, which can be one round after its digest arrives: it is
 * cached no longer than a round (whole seconds, rounded down), and not at all by a mirror that takes
 * no digests (its commitments arrive whenever it follows its upstream).
 */
export function prefixRoute(
  app: FastifyInstance,
  calendar: Calendar,
  limits: PrefixLimits,
  roundIntervalMs?: number,
): void {
  const emptyMaxAge = Math.floor((roundIntervalMs ?? 0) / 1000);
  app.get<{ Querystring: { prefix?: string } }>('/timestamps', async (request, reply) => {
    const prefix = request.query.prefix;
    if (typeof prefix !== 'string' || !NIBBLES_RE.test(prefix) || prefix.length > 2 * MAX_COMMITMENT_BYTES) {
      throw new HttpError(HttpErrors.PREFIX_NOT_HEX);
    }
    if (prefix.length < limits.minNibbles) {
      throw new HttpError({
        ...HttpErrors.PREFIX_TOO_SHORT,
        text: `prefix must have at least ${limits.minNibbles} hex digits`,
      });
    }
    const entries = await calendar
      .timestampsWithPrefix(prefix.toLowerCase(), limits.maxEntries)
      .catch((e: unknown) => {
        throw e instanceof IndexNotCheckedError ? new HttpError(HttpErrors.INDEX_NOT_CHECKED, e) : e;
      });
    if (!entries) {
      throw new HttpError({
        ...HttpErrors.PREFIX_TOO_MANY,
        text: `more than ${limits.maxEntries} commitments under this prefix; use a longer prefix`,
      });
    }
    // final entries never change, but new commitments may join the prefix: cache briefly either way
    const maxAge = entries.length === 0 ? emptyMaxAge : entries.every((e) => e.complete) ? 600 : 60;
    return reply
      .header('content-type', PREFIX_ANSWER_CONTENT_TYPE)
      .header('cache-control', `public, max-age=${maxAge}`)
      .header('x-otsd-commitments', String(calendar.index.commitmentCount))
      .send(Buffer.from(encodePrefixAnswer(entries)));
  });
}
