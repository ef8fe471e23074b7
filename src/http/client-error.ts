/**
 * What to answer a request Node's HTTP parser refused before any route saw it, by the parser's error
 * code. Node and fastify would answer these themselves, with an empty or a JSON body.
 * @module
 */
import { type HttpErrorDefinition, HttpErrors } from './errors.js';

/** The error to answer for `error`, or undefined when the client is gone and there is no one to answer. */
export function clientErrorDefinition(error: Error & { code?: string }): HttpErrorDefinition | undefined {
  switch (error.code) {
    case 'ECONNRESET':
    case 'EPIPE':
      return undefined;
    case 'HPE_HEADER_OVERFLOW':
      return HttpErrors.HEADERS_TOO_LARGE;
    // the headers or the whole request took longer than the limits allow
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return HttpErrors.REQUEST_TIMEOUT;
    default:
      return HttpErrors.BAD_REQUEST;
  }
}
