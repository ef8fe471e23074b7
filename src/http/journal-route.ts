/**
 * The journal for mirrors: a small mutable head, immutable chunks of CHUNK_RECORDS records served
 * straight from the segment files, and a long poll for the next records. See docs/mirroring.md.
 */
import type { FastifyInstance } from 'fastify';
import type { Calendar } from '../calendar/calendar.js';
import { CHUNK_RECORDS } from '../journal/chunk.js';
import { toHex } from '../ots/index.js';
import { HttpError, HttpErrors } from './errors.js';

export const JOURNAL_CHUNK_CONTENT_TYPE = 'application/vnd.otsd.journal-chunk.v1';
/** Longest a head request may wait for new records. */
const MAX_WAIT_SECONDS = 30;

export function journalRoute(app: FastifyInstance, calendar: Calendar): void {
  const journal = calendar.journal;
  const waiters = new Set<() => void>();
  let closing = false;
  journal.onAppend(() => {
    for (const wake of waiters) wake();
  });
  // long polls end at once when the server closes, so a graceful stop does not wait for them
  app.addHook('preClose', async () => {
    closing = true;
    for (const wake of waiters) wake();
  });
  const head = () => ({
    records: journal.head.records,
    chain_hash: toHex(journal.head.chainHash),
    time: Math.floor(Date.now() / 1000),
    chunk_records: CHUNK_RECORDS,
  });

  app.get<{ Querystring: { after?: string; wait?: string } }>('/journal/head', async (request, reply) => {
    reply.header('cache-control', 'no-store');
    const after = Number(request.query.after);
    const wait = Math.min(MAX_WAIT_SECONDS, Number(request.query.wait ?? 0));
    if (
      request.query.after === undefined ||
      !Number.isInteger(after) ||
      !(wait > 0) ||
      journal.head.records > after
    )
      return head();
    // long poll: answer as soon as there is a record past `after`, or when the wait is over
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, wait * 1000);
      function done() {
        clearTimeout(timer);
        waiters.delete(check);
        resolve();
      }
      function check() {
        if (closing || journal.head.records > after) done();
      }
      waiters.add(check);
      request.raw.once('close', done);
    });
    return head();
  });

  app.get<{ Params: { chunk: string } }>('/journal/chunk/:chunk', async (request, reply) => {
    const chunk = Number(request.params.chunk);
    if (!/^\d{1,15}$/.test(request.params.chunk)) throw new HttpError(HttpErrors.NO_SUCH_CHUNK);
    // head, its position and the chunk starts change together, in one tick: read them together
    const records = journal.head.records;
    const end = calendar.index.chunkStart(chunk + 1) ?? journal.headPosition;
    const start = calendar.index.chunkStart(chunk);
    if (!start || chunk * CHUNK_RECORDS >= records) throw new HttpError(HttpErrors.NO_SUCH_CHUNK);
    const full = (chunk + 1) * CHUNK_RECORDS <= records;
    const bytes = await journal.readRecordBytes(start, end);
    const etag = `"${toHex(bytes.subarray(bytes.byteLength - 32))}"`;
    reply
      .header('content-type', JOURNAL_CHUNK_CONTENT_TYPE)
      .header('etag', etag)
      .header('x-otsd-first-record', String(chunk * CHUNK_RECORDS))
      .header('cache-control', full ? 'public, max-age=31536000, immutable' : 'no-cache');
    if (request.headers['if-none-match'] === etag) return reply.code(304).send();
    // the bytes as read, not a copy
    return reply.send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  });
}
