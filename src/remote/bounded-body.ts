/**
 * Reads an HTTP answer's body with a bound: a body past `limit` bytes (declared or streamed) is cut
 * off at once, so an endless or oversized answer from another server costs nothing. Every read of a
 * body from another server goes through it, the page's in browsers included (plain fetch and streams,
 * no Buffer).
 * @module
 */
import { concatBytes } from '../ots/index.js';

/** The body was over its limit, or the connection failed while it was read. */
export class BodyReadError extends Error {
  override name = 'BodyReadError';
  /** True when the body was over its limit; false when the connection failed. */
  readonly tooLong: boolean;

  constructor(message: string, tooLong: boolean) {
    super(message);
    this.tooLong = tooLong;
  }
}

/** Why a body of `length` bytes (`declared`, or counted so far) is refused under `limit`. */
export function overLimit(length: number, limit: number, declared: boolean): string {
  return declared
    ? `answer of ${length} bytes is over the ${limit}-byte limit`
    : `answer of over ${limit} bytes is over the limit`;
}

export async function boundedBody(response: Response, limit: number): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length') ?? 0);
  if (declared > limit) {
    await response.body?.cancel().catch(() => undefined);
    throw new BodyReadError(overLimit(declared, limit, true), true);
  }
  const chunks: Uint8Array[] = [];
  let length = 0;
  const reader = response.body?.getReader();
  try {
    for (;;) {
      const next = await reader?.read();
      if (!next || next.done) break;
      length += next.value.byteLength;
      if (length > limit) throw new BodyReadError(overLimit(length, limit, false), true);
      chunks.push(next.value);
    }
  } catch (e) {
    await reader?.cancel().catch(() => undefined);
    if (e instanceof BodyReadError) throw e;
    throw new BodyReadError(`${response.url}: ${(e as Error).message}`, false);
  }
  return chunks.length === 1 ? (chunks[0] as Uint8Array) : concatBytes(...chunks);
}
