/**
 * The calendar's HTTP API (fastify): the reference's routes with its statuses, texts and caching,
 * CORS for browser clients, hard limits on URLs, headers, bodies and slow requests, and one log line
 * per error. The hot routes' requests are answered ahead of fastify, the same way (fast-path.ts).
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerFactory,
  LogController,
} from 'fastify';
import { type Aggregator, MAX_DIGEST_BYTES } from '../aggregator/aggregator.js';
import type { ExternalStamping } from '../anchoring/external-stamping.js';
import type { Calendar } from '../calendar/calendar.js';
import { SummarizedLines } from '../log/summarized-lines.js';
import type { HeadersTrust } from '../web/facts.js';
import { clientErrorDefinition } from './client-error.js';
import { type ClosedReason, Connections } from './connections.js';
import { DIGEST_ROUTE, digestRoute } from './digest-route.js';
import { HttpErrorLog } from './error-log.js';
import { HttpError, type HttpErrorDefinition, HttpErrors, sendClientError, sendHttpError } from './errors.js';
import { EXTERNAL_TX_ROUTE, externalRoutes } from './external-route.js';
import { type FastPath, fastPath } from './fast-path.js';
import { type HeaderSource, headersRoute } from './headers-route.js';
import { journalRoute } from './journal-route.js';
import { pageRoute } from './page-route.js';
import { DEFAULT_PREFIX_LIMITS, type PrefixLimits, prefixRoute } from './prefix-route.js';
import { RequestLog, type RequestObserver } from './request-log.js';
import { type NodeStatus, statusRoute } from './status-route.js';
import { type PendingDescriber, timestampRoute } from './timestamp-route.js';
import { type TipSource, tipRoute } from './tip-route.js';
import { TrackedResponse } from './tracked-response.js';

export interface HttpLimits {
  /** Longest request URL. */
  maxUrlLength: number;
  /** Largest request line plus headers (Node answers 431 beyond it). */
  maxHeaderBytes: number;
  /** Most headers read from one request; the rest are ignored. */
  maxHeaders: number;
  /** Time to receive the headers. */
  headersTimeoutMs: number;
  /** Time to receive a whole request, body included (slow clients get 408). */
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** Requests read from one connection and not answered yet; at it, the connection is not read. */
  maxRequestsPerConnection: number;
  /**
   * Requests in flight on all connections (each waiting digest some 5 KB): past it, a new request is
   * answered 503 at once, and connections with requests in flight are not read.
   */
  maxRequestsInFlight: number;
  /**
   * Connections the kernel queues for accept() (listen's backlog; the kernel caps it at
   * net.core.somaxconn). Node's default, 511, overflowed at 4,000 new connections a second while an
   * end of round was being answered: the clients' SYNs were dropped and retried 1 and 3 s later.
   */
  listenBacklog: number;
  /** Open connections; Node closes those past it at once. */
  maxConnections: number;
  /** Longest the answers written to a connection may wait for its client to read them. */
  sendTimeoutMs: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  maxUrlLength: 2048,
  maxHeaderBytes: 8192,
  maxHeaders: 64,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 15_000,
  keepAliveTimeoutMs: 5_000,
  maxRequestsPerConnection: 32,
  maxRequestsInFlight: 20_000,
  listenBacklog: 4096,
  maxConnections: 5_000,
  sendTimeoutMs: 30_000,
};

export interface CalendarAppOptions {
  /** The proofs and journal served; a stand-alone aggregator has none. */
  calendar?: Calendar;
  /** Takes digests; a mirror without one answers POST /digest with 404. */
  aggregator?: Aggregator;
  status: () => NodeStatus;
  tip?: TipSource;
  /** External stamping, when enabled (a calendar without it answers its routes that it takes none). */
  external?: ExternalStamping;
  prefixLimits?: Partial<PrefixLimits>;
  /** Block headers for mirrors without a node (GET /bitcoin/headers). */
  headers?: HeaderSource;
  /** Whose node those headers come from (the page says what its verification trusts); own by default. */
  headersFrom?: Exclude<HeadersTrust, 'none'>;
  describePending?: PendingDescriber;
  /** pino logger; request lines go to it at debug. */
  logger: FastifyBaseLogger;
  limits?: Partial<HttpLimits>;
  /** Told of every finished request: its route pattern, method, status and duration in seconds. */
  observe?: RequestObserver;
  /** Told the code of every error answered, those Node's parser answered included. */
  countError?: (code: string) => void;
  /** Told of every connection closed for a reason of its own (connections.ts: stalled, over the cap). */
  countClosedConnection?: (reason: ClosedReason) => void;
  /**
   * Whether the hot routes are served by the fast path (fast-path.ts) rather than fastify: on unless
   * false (the tests compare the two).
   */
  fastPath?: boolean;
  /**
   * Reverse proxies whose X-Forwarded-For names the client (trusted-proxies.ts); from other peers the
   * header is ignored.
   */
  trustProxy?: readonly string[];
}

const ALLOWED_METHODS = new Set(['GET', 'HEAD', 'POST', 'OPTIONS']);

const CLOSED_LINES: Record<ClosedReason, string> = {
  stalled: 'http: connection closed, its client left the answers unread (send timeout)',
  'over-cap': 'http: connection closed at once, max_connections are open',
};

export function buildCalendarApp(options: CalendarAppOptions): FastifyInstance {
  const limits = { ...DEFAULT_HTTP_LIMITS, ...options.limits };
  // the requests in flight on each connection: set by serverFactory, which Fastify() calls at once
  let connections!: Connections;
  const errorLog = new HttpErrorLog(options.logger, options.countError && { count: options.countError });
  const requestLog = new RequestLog(options.logger, options.observe);
  // connections closed for stalling or past the cap: expected under abuse, a line per interval each
  const closures = new SummarizedLines();
  /** Why a request is refused before its route, if it is. */
  const refusalOf = (request: IncomingMessage): HttpErrorDefinition | undefined => {
    if (connections.closing) return HttpErrors.SHUTTING_DOWN;
    if (connections.refused(request)) return HttpErrors.OVERLOADED;
    if (!ALLOWED_METHODS.has(request.method as string)) return HttpErrors.UNSUPPORTED_METHOD;
    if ((request.url as string).length > limits.maxUrlLength) return HttpErrors.URL_TOO_LONG;
    if (request.httpVersion === '1.1' && request.headers.host === undefined) return HttpErrors.NO_HOST;
    return undefined;
  };
  const serverFactory: FastifyServerFactory = (handler) => {
    const server: Server = createServer({
      maxHeaderSize: limits.maxHeaderBytes,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
      // a request without Host is refused in onRequest below, in the same form as every other error
      requireHostHeader: false,
      // answers that tell Connections when they are ended and done (tracked-response.ts)
      ServerResponse: TrackedResponse,
    });
    const fastifyHandler = handler as (req: IncomingMessage, res: ServerResponse) => void;
    // the fast path takes the hot routes' requests; fastify gets the rest
    let fast: FastPath | undefined;
    connections = new Connections(
      server,
      {
        maxPerConnection: limits.maxRequestsPerConnection,
        maxInFlight: limits.maxRequestsInFlight,
        maxLingerMs: limits.headersTimeoutMs,
        sendTimeoutMs: limits.sendTimeoutMs,
      },
      (req, res) => {
        if (!fast?.(req, res)) fastifyHandler(req, res);
      },
      (reason) => {
        options.countClosedConnection?.(reason);
        closures.record(
          reason,
          () => options.logger.warn({ reason, count: 1 }, CLOSED_LINES[reason]),
          (count, seconds) =>
            options.logger.warn(
              { reason, count, seconds },
              `${CLOSED_LINES[reason]} (${count} more since the last line)`,
            ),
        );
      },
    );
    if (options.fastPath !== false)
      fast = fastPath({
        aggregator: options.aggregator,
        calendar: options.calendar,
        describePending: options.describePending,
        connections,
        refusalOf,
        errorLog,
        requestLog,
      });
    server.on('request', connections.request);
    server.maxHeadersCount = limits.maxHeaders;
    server.maxConnections = limits.maxConnections;
    // A client that shuts its sending side after its request (`nc -N`, some HTTP/1.0 clients) still
    // reads the answer, and the reference gives it. Node ends the connection as soon as the client's
    // side ends, before the digest's round closes, unless this switch (Node's own since 0.x, read by its
    // socket 'end' handler, though not in its typings) is on: then the answers in progress are written
    // and the connection ends after the last, and a connection with none ends at once as before.
    (server as Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
    // an Expect other than 100-continue is ignored, as the reference does (Node would answer 417)
    server.on('checkExpectation', connections.request);
    // CONNECT is no method of ours: refused like any other (Node would drop the connection unanswered)
    server.on('connect', (_request: IncomingMessage, socket: Duplex) =>
      sendClientError(socket, HttpErrors.UNSUPPORTED_METHOD, errorLog, undefined),
    );
    return server;
  };
  const sendError = (
    request: FastifyRequest,
    reply: FastifyReply,
    definition: HttpErrorDefinition,
    cause?: unknown,
    detail?: string,
  ) => sendHttpError(request, reply, definition, errorLog, cause, detail);
  const app = Fastify({
    loggerInstance: options.logger,
    // one debug line per request comes from the onResponse hook below, with the status and duration
    logController: new LogController({ disableRequestLogging: true }),
    // no child logger per request (pino serializes its bindings each time): the request line names
    // its request id itself
    childLoggerFactory: (logger) => logger,
    // one sequence of ids for the requests fastify answers and those of the fast path
    genReqId: () => requestLog.nextId(),
    serverFactory,
    ...(options.trustProxy?.length && { trustProxy: [...options.trustProxy] }),
    routerOptions: { maxParamLength: limits.maxUrlLength },
    // requests that arrive while closing get SHUTTING_DOWN from onRequest below (fastify's own 503 is JSON)
    return503OnClosing: false,
    // errors the router raises before any hook runs (an over-long parameter, a malformed URL)
    frameworkErrors: (error, request, reply) => {
      reply.header('access-control-allow-origin', '*');
      const definition =
        error.code === 'FST_ERR_MAX_PARAM_LENGTH'
          ? HttpErrors.URL_TOO_LONG
          : // a bad percent-escape (`/timestamp/%zz`): the reference, which decodes nothing, says not hex
            error.code === 'FST_ERR_BAD_URL' && request.url.includes('/timestamp/')
            ? HttpErrors.COMMITMENT_NOT_HEX
            : HttpErrors.BAD_REQUEST;
      void sendError(request, reply, definition);
    },
    // requests Node's parser refuses (malformed, headers too large, too slow) never reach a route
    clientErrorHandler: (error, socket) => {
      // a request cut by a read this server stopped (a client pipelining more than it takes) is not slow
      if ((error as { code?: string }).code === 'ERR_HTTP_REQUEST_TIMEOUT' && connections.cut(socket)) return;
      const definition = clientErrorDefinition(error);
      if (definition && !socket.destroyed) sendClientError(socket, definition, errorLog, error);
    },
    // connections end as Connections decides (see close() there), not at once
    forceCloseConnections: false,
  });
  app.addHook('onClose', async () => {
    errorLog.flush();
    closures.flush();
  });

  // from the close on, every request read is answered and each connection ends after a linger
  // (fastify says Connection: close on every answer while closing, ending the connection under the
  // requests pipelined behind it: connections.ts decides when an answer says it)
  app.addHook('preClose', async () => connections.close());
  // The per-request hooks take callbacks: an async hook costs a promise and its microtasks per request,
  // which at thousands of digests a second was a fifth of the server's time
  app.addHook('onSend', (_request, reply, payload, done) => {
    // the server answers with TrackedResponses (serverFactory)
    if (connections.sending(reply.raw as TrackedResponse)) reply.header('connection', 'close');
    else if (connections.closing) reply.raw.removeHeader('connection');
    done(null, payload);
  });
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('access-control-allow-origin', '*');
    const refusal = refusalOf(request.raw);
    if (refusal === HttpErrors.NO_HOST) reply.header('connection', 'close');
    // a body (a digest, or a donation) is raw bytes whatever the Content-Type says (as the reference):
    // not reading the header spares clients fastify's 415 for one that does not parse
    else if (refusal === undefined) request.raw.headers['content-type'] = undefined;
    done(refusal && new HttpError(refusal));
  });
  app.addHook('onResponse', (request, reply, done) => {
    requestLog.finished(
      request.id,
      request.method,
      request.url,
      request.routeOptions.url ?? 'unmatched',
      reply.statusCode,
      reply.elapsedTime,
    );
    done();
  });

  // CORS preflight for every path: browser clients can POST digests without a proxy adding headers
  app.options('*', async (_request, reply) =>
    reply
      .code(204)
      .header('access-control-allow-methods', 'GET, POST, OPTIONS')
      .header('access-control-allow-headers', 'Content-Type, Accept')
      .header('access-control-max-age', '86400')
      .send(),
  );

  // Clients send form, text, octet-stream or no Content-Type at all: a body is taken as raw bytes, at
  // most a digest's unless the route says otherwise (POST /external/tx)
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    '*',
    { parseAs: 'buffer', bodyLimit: MAX_DIGEST_BYTES },
    (_request, body, done) => {
      done(null, body);
    },
  );
  if (options.aggregator) digestRoute(app, options.aggregator);
  else app.post(DIGEST_ROUTE, async () => Promise.reject(new HttpError(HttpErrors.NOT_AGGREGATING)));
  if (options.calendar) {
    journalRoute(app, options.calendar);
    timestampRoute(app, options.calendar, options.describePending);
    prefixRoute(
      app,
      options.calendar,
      { ...DEFAULT_PREFIX_LIMITS, ...options.prefixLimits },
      options.aggregator?.intervalMs,
    );
    tipRoute(app, options.tip ?? (() => undefined));
    externalRoutes(app, options.external);
  } else {
    // a client that asks an aggregator for a proof is told where proofs are
    const notACalendar = async () => Promise.reject(new HttpError(HttpErrors.NOT_A_CALENDAR));
    app.get('/timestamp/*', notACalendar);
    app.get('/timestamps', notACalendar);
  }
  if (options.headers) headersRoute(app, options.headers);
  const page = pageRoute(app, {
    status: options.status,
    stamping: options.aggregator !== undefined,
    proofs: options.calendar !== undefined,
    headers: options.headers ? (options.headersFrom ?? 'own node') : 'none',
    logger: options.logger,
  });
  statusRoute(app, options.status, page);

  app.setNotFoundHandler(async (request, reply) =>
    sendError(
      request,
      reply,
      request.method === 'POST' ? HttpErrors.POST_ROUTE_NOT_FOUND : HttpErrors.ROUTE_NOT_FOUND,
    ),
  );
  app.setErrorHandler(async (error, request, reply) => {
    if (error instanceof HttpError)
      return sendError(request, reply, error.definition, error.cause, error.detail);
    const code = (error as { code?: string }).code;
    if (code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      return request.routeOptions.url === EXTERNAL_TX_ROUTE
        ? sendError(
            request,
            reply,
            HttpErrors.EXTERNAL_TOO_LARGE,
            undefined,
            `rule 1 (too-large): the body is over ${request.routeOptions.bodyLimit} bytes`,
          )
        : sendError(request, reply, HttpErrors.DIGEST_TOO_LONG);
    if (code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH')
      return sendError(request, reply, HttpErrors.INVALID_CONTENT_LENGTH);
    const status = (error as { statusCode?: number }).statusCode;
    if (status === 408) return sendError(request, reply, HttpErrors.REQUEST_TIMEOUT);
    if (status !== undefined && status >= 400 && status < 500)
      return sendError(request, reply, HttpErrors.BAD_REQUEST, error);
    return sendError(request, reply, HttpErrors.INTERNAL, error);
  });
  return app;
}
