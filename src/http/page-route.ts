/**
 * The page at `/` (for browsers; status-route.ts keeps the JSON status there) and its script at
 * `/assets/page-<hash>.js`. The script's name carries its content hash, so it is cached for a year and
 * a new build is never mixed with an old page; the page itself is cached for seconds, like the status
 * it replaced. A strict Content-Security-Policy lets the page load nothing but its own script and talk
 * to nothing but this server.
 * @module
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply } from 'fastify';
import type { PageFacts } from '../web/facts.js';
import { HttpError, HttpErrors } from './errors.js';
import { PAGE_CSS, type PageScript, pageHtml } from './page-html.js';
import type { NodeStatus } from './status-route.js';

/** Where `npm run build` bundles src/web/page.ts (dist/src/web/page.js beside dist/src/http). */
const BUNDLE = new URL('../web/page.js', import.meta.url);

export interface PageOptions {
  status: () => NodeStatus;
  /** Whether this server takes digests and serves proofs. */
  stamping: boolean;
  proofs: boolean;
  headers: PageFacts['headers'];
  logger: FastifyBaseLogger;
}

interface Bundle extends PageScript {
  name: string;
  code: Buffer;
}

function loadBundle(logger: FastifyBaseLogger): Bundle | undefined {
  let code: Buffer;
  try {
    code = readFileSync(BUNDLE);
  } catch (e) {
    logger.warn({ err: e }, `page: ${BUNDLE.pathname} missing: the page at / has no script (npm run build)`);
    return undefined;
  }
  const name = `page-${createHash('sha256').update(code).digest('hex').slice(0, 16)}.js`;
  const integrity = `sha256-${createHash('sha256').update(code).digest('base64')}`;
  return { name, src: `assets/${name}`, integrity, code };
}

const sha256Base64 = (text: string) => createHash('sha256').update(text).digest('base64');

export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  `style-src 'sha256-${sha256Base64(PAGE_CSS)}'`,
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export function pageFacts(s: NodeStatus, options: Omit<PageOptions, 'status' | 'logger'>): PageFacts {
  return {
    role: s.role,
    ...(s.calendar && { uri: s.calendar.uri }),
    upstreams: s.mirror ? [s.mirror.upstream] : (s.upstreams ?? []).map((u) => u.url),
    stamping: options.stamping,
    proofs: options.proofs,
    headers: options.headers,
    ...(s.anchoring && { network: s.anchoring.network }),
  };
}

/** Registers the script's route; returns the handler that answers `/` with the page. */
export function pageRoute(app: FastifyInstance, options: PageOptions) {
  const bundle = loadBundle(options.logger);
  app.get<{ Params: { name: string } }>('/assets/:name', async (request, reply) => {
    if (!bundle || request.params.name !== bundle.name) throw new HttpError(HttpErrors.ROUTE_NOT_FOUND);
    return reply
      .header('content-type', 'text/javascript; charset=utf-8')
      .header('cache-control', 'public, max-age=31536000, immutable')
      .header('x-content-type-options', 'nosniff')
      .send(bundle.code);
  });
  return async (_request: unknown, reply: FastifyReply) => {
    const status = options.status();
    return reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'public, max-age=5')
      .header('vary', 'Accept')
      .header('content-security-policy', PAGE_CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .send(pageHtml(pageFacts(status, options), status.warnings, status.version, bundle));
  };
}
