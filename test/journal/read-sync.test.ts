/** Reading records back synchronously from a position (what the index does for every commitment it confirms). */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Journal, JournalCorruptError, type StoredRecord } from '../../src/journal/journal.js';
import { readRecordsSync } from '../../src/journal/read-sync.js';
import { RecordKind } from '../../src/journal/record.js';
import { SegmentFds } from '../../src/journal/segment-fds.js';
import { sha256, toHex } from '../../src/ots/index.js';
import { recordFields } from '../helpers/record-fields.js';
import { tempDir } from '../helpers/temp-dir.js';

/** A kind this version does not know: its payload may be large. */
const UNKNOWN_KIND = 0x7f;

/** A journal of small segments: commitments, and a record larger than the reader's block in the middle. */
async function journalOfSegments(dir: string): Promise<StoredRecord[]> {
  const journal = await Journal.open({ dir, create: true, maxSegmentBytes: 4096 });
  for (let i = 0; i < 150; i++) {
    if (i === 70) await journal.append(UNKNOWN_KIND, new Uint8Array(40_000).fill(7));
    await journal.append(RecordKind.Commitment, sha256(new Uint8Array([i])));
  }
  const records: StoredRecord[] = [];
  for await (const r of journal.read(0)) records.push(recordFields(r));
  await journal.close();
  return records;
}

const summary = (r: { number: number; kind: number; payload: Uint8Array }) =>
  `${r.number}:${r.kind}:${toHex(sha256(r.payload))}`;

describe('reading records back synchronously', () => {
  it('reads from any record position on, across segments and past a record larger than its block', async (t) => {
    const dir = join(tempDir(t), 'journal');
    const records = await journalOfSegments(dir);
    const segments = new SegmentFds(dir);
    t.after(() => segments.close());
    assert.ok(new Set(records.map((r) => r.segment)).size >= 4, 'several segments');
    for (const from of [0, 1, 40, 69, 70, 71, 150]) {
      const start = records[from] as StoredRecord;
      const read = Array.from(readRecordsSync(segments, start), summary);
      assert.deepEqual(read, records.slice(from).map(summary), `from record ${from}`);
    }
    // stopped early: what was read is right
    let taken = 0;
    for (const record of readRecordsSync(segments, records[3] as StoredRecord)) {
      assert.equal(summary(record), summary(records[3 + taken] as StoredRecord));
      if (++taken === 5) break;
    }
  });

  it('refuses a position that is not a record, without calling the journal damaged', async (t) => {
    const dir = join(tempDir(t), 'journal');
    const records = await journalOfSegments(dir);
    const segments = new SegmentFds(dir);
    t.after(() => segments.close());
    const start = records[10] as StoredRecord;
    assert.throws(
      () => [...readRecordsSync(segments, { ...start, offset: start.offset + 2 })],
      (e) =>
        e instanceof Error && !(e instanceof JournalCorruptError) && /record 10 at offset/.test(e.message),
    );
  });
});
