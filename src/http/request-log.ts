/**
 * The account of each finished request, whichever path answered it (fastify, or the fast path of
 * fast-path.ts): its request id, the metrics' observation and one debug line.
 * @module
 */
import type { FastifyBaseLogger } from 'fastify';

/** Told of every finished request: its route pattern, method, status and duration in seconds. */
export type RequestObserver = (route: string, method: string, status: number, seconds: number) => void;

/** The levels at which the request line is written (otsd uses pino's own levels). */
const LINE_LEVELS = new Set(['debug', 'trace']);

/** fastify's own limit: ids stay small integers (a larger one would deoptimize the counter). */
const MAX_ID = 2147483647;

export class RequestLog {
  private readonly logger: FastifyBaseLogger;
  private readonly observe: RequestObserver | undefined;
  private lastId = 0;

  constructor(logger: FastifyBaseLogger, observe: RequestObserver | undefined) {
    this.logger = logger;
    this.observe = observe;
  }

  /** A new request id, in fastify's form (`req-<base 36>`), unique across both paths. */
  nextId(): string {
    this.lastId = (this.lastId + 1) & MAX_ID;
    return `req-${this.lastId.toString(36)}`;
  }

  /** `route` is the pattern that matched ('unmatched' for none); `ms` the time from routing to the end. */
  finished(id: string, method: string, url: string, route: string, status: number, ms: number): void {
    this.observe?.(route, method, status, ms / 1000);
    // not even built at other levels: thousands a second
    if (!LINE_LEVELS.has(this.logger.level)) return;
    this.logger.debug(
      { reqId: id, method, url: url.slice(0, 200), status, ms: Math.round(ms * 10) / 10 },
      'request',
    );
  }
}
