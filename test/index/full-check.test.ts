/**
 * The whole index checked against the journal after start (the start's check reads a sample): one
 * flipped bit in a commitment's entry, in a chunk the sample missed, made an acknowledged commitment
 * answer "Not found". A lookup that finds nothing is never answered from an index the full check has
 * not passed; a damaged one is rebuilt at the next start.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Calendar } from '../../src/calendar/calendar.js';
import { IndexNotCheckedError } from '../../src/index/full-check.js';
import { CHUNK_RECORDS } from '../../src/journal/chunk.js';
import { sha256 } from '../../src/ots/index.js';
import { memoryLog, tempDir } from '../helpers/temp-dir.js';

const URI = 'http://127.0.0.1:14789';
/** 24 chunks: more than the start's sample reads. */
const COMMITMENTS = Array.from({ length: 24 * CHUNK_RECORDS }, (_, i) =>
  sha256(new Uint8Array([7, i & 0xff, i >> 8])),
);
/** In chunk 20, which the sample below does not read. */
const DAMAGED = 20 * CHUNK_RECORDS + 17;

/** Opens the calendar with the start's sample fixed to chunks 0..16 and the last. */
async function openMissingChunk20(dataDir: string, log: ReturnType<typeof memoryLog>): Promise<Calendar> {
  const random = Math.random;
  let pick = 0;
  Math.random = () => (pick++ % 23) / 23;
  try {
    return await Calendar.open({ dataDir, uri: URI, log });
  } finally {
    Math.random = random;
  }
}

describe('the full check of the index after start', () => {
  it('never answers Not found from an index it has not passed, and finds the damage the sample missed', async (t) => {
    const dataDir = tempDir(t);
    const created = await Calendar.open({ dataDir, uri: URI, create: true });
    for (let i = 0; i < COMMITMENTS.length; i += 512) {
      await Promise.all(COMMITMENTS.slice(i, i + 512).map((c) => created.commit(c)));
    }
    await created.close();
    const damaged = COMMITMENTS[DAMAGED] as Uint8Array;
    const file = join(dataDir, 'index', 'data.mdb');
    const bytes = readFileSync(file);
    // its last bit flipped wherever it is (its key and its value, old copies in free pages too)
    let flipped = 0;
    for (
      let at = bytes.indexOf(Buffer.from(damaged));
      at > 0;
      at = bytes.indexOf(Buffer.from(damaged), at + 1)
    ) {
      bytes[at + damaged.byteLength - 1] = (bytes[at + damaged.byteLength - 1] as number) ^ 1;
      flipped++;
    }
    assert.ok(flipped > 0);
    writeFileSync(file, bytes);

    const log = memoryLog();
    const calendar = await openMissingChunk20(dataDir, log);
    try {
      assert.equal(
        log.lines.find((l) => l.msg.startsWith('index: damaged')),
        undefined,
        'the start did not notice',
      );
      calendar.startFullIndexCheck(log);
      await assert.rejects(calendar.answer(damaged), IndexNotCheckedError);
      assert.equal(calendar.indexCheck?.state, 'index damaged');
      assert.match(calendar.indexCheck?.warning() ?? '', /the index is damaged .*restart otsd/);
      assert.ok(
        log.lines.some(
          (l) => l.level === 'error' && l.msg.startsWith('index: damaged (found by the full check'),
        ),
      );
      // what the index finds is answered as before
      assert.notEqual((await calendar.answer(COMMITMENTS[3] as Uint8Array)).state, 'unknown');
    } finally {
      await calendar.close();
    }

    // the next start rebuilds it
    const again = memoryLog();
    const rebuilt = await Calendar.open({ dataDir, uri: URI, log: again });
    try {
      assert.ok(again.lines.some((l) => l.msg === 'index: damaged; rebuilding it from the journal'));
      rebuilt.startFullIndexCheck(again);
      assert.notEqual((await rebuilt.answer(damaged)).state, 'unknown');
      assert.equal((await rebuilt.answer(sha256(new Uint8Array([1, 2, 3])))).state, 'unknown');
      assert.equal(rebuilt.indexCheck?.state, 'passed');
    } finally {
      await rebuilt.close();
    }
  });
});
