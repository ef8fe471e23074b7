/**
 * Reads an HTTP answer's body with a bound: a body past `limit` bytes (declared or streamed) is cut
 * off at once, so an endless or oversized answer from another server costs nothing. Every read of a
 * body from another server goes through it.
 * @module
 */

/** The body was over its limit, or the connection failed while it was read. */
export class BodyReadError extends Error {
  override name = 'BodyReadError';
}

export async function boundedBody(response: Response, limit: number): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length') ?? 0);
  if (declared > limit) {
    await response.body?.cancel().catch(() => undefined);
    throw new BodyReadError(`answer of ${declared} bytes is over the ${limit}-byte limit`);
  }
  const chunks: Uint8Array[] = [];
  let length = 0;
  try {
    for await (const chunk of response.body ?? []) {
      length += chunk.byteLength;
      if (length > limit) throw new BodyReadError(`answer of over ${limit} bytes is over the limit`);
      chunks.push(chunk);
    }
  } catch (e) {
    await response.body?.cancel().catch(() => undefined);
    if (e instanceof BodyReadError) throw e;
    throw new BodyReadError(`${response.url}: ${(e as Error).message}`);
  }
  return Buffer.concat(chunks, length);
}
