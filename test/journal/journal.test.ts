import assert from 'node:assert/strict';
import { appendFileSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Journal, JournalCorruptError, type StoredRecord } from '../../src/journal/journal.js';
import { chainHash, frameRecord, GENESIS_CHAIN_HASH, RecordKind } from '../../src/journal/record.js';
import { SEGMENT_HEADER_BYTES } from '../../src/journal/segment.js';
import { verifyJournal } from '../../src/journal/verify.js';
import { sha256, toHex } from '../../src/ots/index.js';
import { recordFields, recordsOf } from '../helpers/record-fields.js';
import { memoryLog, tempDir } from '../helpers/temp-dir.js';

const payload = (i: number) => new Uint8Array(32).fill(i % 256);

/** `framed` records, each followed by its chain hash from `after` on, back to back: as a chunk holds them. */
function chainedRun(framed: Uint8Array[], after: Uint8Array): { bytes: Uint8Array; after: Uint8Array } {
  const bytes = new Uint8Array(framed.reduce((sum, f) => sum + f.byteLength + 32, 0));
  let at = 0;
  let previous = after;
  for (const f of framed) {
    bytes.set(f, at);
    previous = chainHash(previous, f);
    bytes.set(previous, at + f.byteLength);
    at += f.byteLength + 32;
  }
  return { bytes, after };
}

async function filled(dir: string, n: number, maxSegmentBytes?: number): Promise<Journal> {
  const journal = await Journal.open({ dir, create: true, ...(maxSegmentBytes && { maxSegmentBytes }) });
  for (let i = 0; i < n; i++) await journal.append(RecordKind.Commitment, payload(i));
  return journal;
}

/** The journal's last segment file. */
const segmentPath = (dir: string) =>
  join(
    dir,
    readdirSync(dir)
      .filter((n) => n.endsWith('.seg'))
      .sort()
      .at(-1) as string,
  );

describe('journal append and read', () => {
  it('numbers records from 0 and chains them as documented', async (t) => {
    const dir = tempDir(t);
    const journal = await filled(dir, 3);
    const records = await recordsOf(journal);
    assert.deepEqual(
      records.map((r) => r.number),
      [0, 1, 2],
    );
    let previous: Uint8Array = GENESIS_CHAIN_HASH;
    for (const [i, r] of records.entries()) {
      previous = chainHash(previous, frameRecord(RecordKind.Commitment, payload(i)));
      assert.equal(toHex(r.chainHash), toHex(previous));
      assert.equal(toHex(r.payload), toHex(payload(i)));
    }
    assert.equal(journal.head.records, 3);
    assert.equal(toHex(journal.head.chainHash), toHex(previous));
    assert.deepEqual(
      (await recordsOf(journal, 2)).map((r) => r.number),
      [2],
    );
    const third = records[2] as StoredRecord;
    const again = await journal.readAt(third);
    assert.equal(toHex(again.payload), toHex(third.payload));
    await journal.close();
  });

  it('group-commits concurrent appends into few writes, in order', async (t) => {
    const journal = await Journal.open({ dir: tempDir(t), create: true });
    const batches: number[][] = [];
    journal.onAppend((records) => batches.push(records.map((r) => r.number)));
    const written = await Promise.all(
      Array.from({ length: 200 }, (_, i) => journal.append(RecordKind.Commitment, payload(i))),
    );
    assert.deepEqual(
      written.map((r) => r.number),
      Array.from({ length: 200 }, (_, i) => i),
    );
    assert.deepEqual(
      batches.flat(),
      written.map((r) => r.number),
    );
    assert.ok(batches.length <= 3, `expected group commit, got ${batches.length} batches`);
    await journal.close();
  });

  it('reopens at the same head and continues the chain', async (t) => {
    const dir = tempDir(t);
    const first = await filled(dir, 5);
    const head = first.head;
    await first.close();
    const second = await Journal.open({ dir });
    assert.equal(second.head.records, 5);
    assert.equal(toHex(second.head.chainHash), toHex(head.chainHash));
    await second.append(RecordKind.Commitment, payload(5));
    assert.equal((await recordsOf(second)).length, 6);
    await second.close();
    assert.equal((await verifyJournal(dir)).records, 6);
  });

  it("keeps none of a segment's bytes where they would outlive a read: the head after opening, a record logged", async (t) => {
    const dir = tempDir(t);
    await (await filled(dir, 50)).close();
    const journal = await Journal.open({ dir });
    t.after(() => journal.close());
    // a copy of the last record's chain hash, not a view of the segment recovery read
    assert.equal(journal.head.chainHash.buffer.byteLength, 32);
    const [record] = await recordsOf(journal);
    assert.deepEqual(JSON.parse(JSON.stringify(record)), {
      number: 0,
      kind: RecordKind.Commitment,
      offset: SEGMENT_HEADER_BYTES,
      size: (record as StoredRecord).size,
      segment: 0,
    });
  });

  it('keeps 32 bytes of chain hash for the head and each segment after records chained elsewhere', async (t) => {
    // a view of a batch would keep it all (a mirror's group: megabytes) for as long as the head, or a
    // segment started after it, lasts
    const journal = await Journal.open({ dir: tempDir(t), create: true, maxSegmentBytes: 64 * 1024 });
    t.after(() => journal.close());
    for (let batch = 0; batch < 4; batch++) {
      const framed = Array.from({ length: 1000 }, (_, i) =>
        frameRecord(RecordKind.Commitment, sha256(new Uint8Array([batch, i >> 8, i & 255]))),
      );
      await journal.appendChained([chainedRun(framed, journal.head.chainHash)]);
    }
    assert.equal(journal.head.chainHash.buffer.byteLength, 32);
    const segments = journal.readPlan().segments;
    assert.ok(segments.length >= 4);
    assert.deepEqual(
      segments.map((s) => s.previousChainHash.buffer.byteLength),
      segments.map(() => 32),
    );
    const wrong = chainedRun([frameRecord(RecordKind.Commitment, new Uint8Array(32))], new Uint8Array(31));
    await assert.rejects(
      journal.appendChained([wrong]),
      /the chain hash before chained run 0 is 31 bytes, not 32/,
    );
  });

  it('appends runs of records chained elsewhere in one group, byte for byte, and chains anew what does not follow', async (t) => {
    const source = await filled(tempDir(t), 300);
    const records = await recordsOf(source);
    await source.close();
    const framed = records.map((r) => frameRecord(r.kind, r.payload));
    const after = (i: number) => (i === 0 ? GENESIS_CHAIN_HASH : (records[i - 1] as StoredRecord).chainHash);
    const dir = tempDir(t);
    const copy = await Journal.open({ dir, create: true });
    const batches: number[] = [];
    copy.onAppend((batch) => batches.push(batch.length));
    // three runs, as a mirror's group gathers them from three chunks
    const written = await copy.appendChained([
      chainedRun(framed.slice(0, 64), after(0)),
      chainedRun(framed.slice(64, 65), after(64)),
      chainedRun(framed.slice(65, 200), after(65)),
    ]);
    assert.deepEqual(batches, [200], 'one group, one write');
    assert.deepEqual(
      written.map((r) => [r.number, toHex(r.chainHash), toHex(r.payload)]),
      records.slice(0, 200).map((r) => [r.number, toHex(r.chainHash), toHex(r.payload)]),
    );
    // something else appended meanwhile: the next records no longer follow, and are chained anew
    await copy.append(RecordKind.Commitment, payload(999));
    const moved = await copy.appendChained([chainedRun(framed.slice(200, 203), after(200))]);
    assert.deepEqual(
      moved.map((r) => r.number),
      [201, 202, 203],
    );
    assert.notEqual(
      toHex((moved[0] as StoredRecord).chainHash),
      toHex((records[200] as StoredRecord).chainHash),
    );
    assert.deepEqual(
      moved.map((r) => toHex(r.payload)),
      records.slice(200, 203).map((r) => toHex(r.payload)),
    );
    assert.deepEqual(await copy.appendChained([]), []);
    assert.deepEqual(await copy.appendChained([chainedRun([], copy.head.chainHash)]), []);
    await copy.close();
    const verified = await verifyJournal(dir);
    assert.deepEqual([verified.ok, verified.records], [true, 204]);
  });

  it('keeps no view of the chained records it was given: the caller may reuse its buffer at once', async (t) => {
    // as a mirror's records: runs are views of one downloaded chunk
    const framed = Array.from({ length: 200 }, (_, i) => frameRecord(RecordKind.Commitment, payload(i)));
    const chunk = chainedRun(framed, GENESIS_CHAIN_HASH).bytes;
    const size = chunk.byteLength / 200;
    const dir = tempDir(t);
    const journal = await Journal.open({ dir, create: true, maxSegmentBytes: 4096 });
    for (let i = 0; i < 200; i += 50) {
      const after = i === 0 ? GENESIS_CHAIN_HASH : chunk.subarray(i * size - 32, i * size);
      await journal.appendChained([{ bytes: chunk.subarray(i * size, (i + 50) * size), after }]);
    }
    chunk.fill(0xee);
    await journal.append(RecordKind.Commitment, payload(200));
    await journal.close();
    const verified = await verifyJournal(dir);
    assert.deepEqual([verified.ok, verified.records], [true, 201], 'every acknowledged record kept');
  });

  it('refuses chained records whose framing or payload is wrong, writing none of them', async (t) => {
    const journal = await Journal.open({ dir: tempDir(t), create: true });
    const good = frameRecord(RecordKind.Commitment, payload(1));
    const run = (bytes: Uint8Array) => ({ bytes, after: GENESIS_CHAIN_HASH });
    const goodRun = chainedRun([good, good], GENESIS_CHAIN_HASH).bytes;
    const longer = goodRun.slice();
    longer[2] = 1; // 256 bytes more than it holds
    const zero = goodRun.slice();
    zero.fill(0, 0, 4);
    const oversized = chainedRun(
      [frameRecord(RecordKind.Proof, new Uint8Array(65))],
      GENESIS_CHAIN_HASH,
    ).bytes;
    oversized[4] = RecordKind.Commitment;
    for (const [bytes, refusal] of [
      [longer, /framing of record 0 of chained run 1 \(at byte 0 of 138\) does not match/],
      [zero, /framing of record 0 of chained run 1 /],
      [goodRun.subarray(0, 100), /framing of record 1 of chained run 1 \(at byte 69 of 100\)/],
      [goodRun.subarray(0, 2), /framing of record 0 of chained run 1 \(at byte 0 of 2\)/],
      [oversized, /payload of 65 bytes exceeds the 64-byte limit/],
    ] as const) {
      await assert.rejects(journal.appendChained([run(goodRun), run(bytes)]), refusal);
    }
    assert.equal(journal.head.records, 0);
    await journal.append(RecordKind.Commitment, payload(2));
    assert.equal(journal.head.records, 1);
    await journal.close();
  });

  it('refuses appends after close, and opening a missing journal without create', async (t) => {
    const dir = tempDir(t);
    const journal = await filled(dir, 1);
    await journal.close();
    await assert.rejects(journal.append(RecordKind.Commitment, payload(1)), /closed/);
    await assert.rejects(Journal.open({ dir: join(dir, 'nothing-here'), create: false }));
  });
});

describe('journal listeners', () => {
  it('tells every listener of every batch, and lets one that threw catch up before the appends resolve', async (t) => {
    const log = memoryLog();
    const journal = await Journal.open({ dir: tempDir(t), create: true, log });
    let faults = 1;
    let caughtUp = 0;
    journal.onAppend(
      () => {
        if (faults-- > 0) throw new Error('injected fault');
      },
      async () => {
        caughtUp++;
      },
    );
    const seenLater: number[] = [];
    journal.onAppend((records) => seenLater.push(...records.map((r) => r.number)));
    assert.equal((await journal.append(RecordKind.Commitment, payload(0))).number, 0);
    assert.equal((await journal.append(RecordKind.Commitment, payload(1))).number, 1);
    assert.deepEqual(seenLater, [0, 1]);
    assert.equal(caughtUp, 1);
    const error = log.lines.find((l) => l.level === 'error');
    assert.match(error?.msg ?? '', /a listener could not take durable records/);
    assert.deepEqual(error?.obj, { records: 'records 0..0', error: 'injected fault' });
    await journal.close();
  });

  it('stops taking appends when a listener cannot catch up; the records stay durable', async (t) => {
    const dir = tempDir(t);
    const journal = await Journal.open({ dir, create: true });
    journal.onAppend(
      () => {
        throw new Error('injected fault');
      },
      async () => {
        throw new Error('still failing');
      },
    );
    const reason =
      /records 0\.\.0 are durable, but a listener could not take them \(injected fault\) nor catch up \(still failing\)/;
    await assert.rejects(journal.append(RecordKind.Commitment, payload(0)), reason);
    assert.match((await journal.failed).message, reason);
    await assert.rejects(journal.append(RecordKind.Commitment, payload(1)), reason);
    await journal.close();
    const reopened = await Journal.open({ dir });
    assert.equal(reopened.head.records, 1);
    await reopened.close();
  });
});

describe('journal recovery', () => {
  it('truncates a torn last record (cut mid-write) with a log line', async (t) => {
    const dir = tempDir(t);
    await (await filled(dir, 3)).close();
    const path = segmentPath(dir);
    const size = statSync(path).size;
    appendFileSync(path, frameRecord(RecordKind.Commitment, payload(9)).subarray(0, 20));
    const log = memoryLog();
    const journal = await Journal.open({ dir, log });
    assert.equal(journal.head.records, 3);
    assert.equal(statSync(path).size, size);
    const warning = log.lines.find((l) => l.level === 'warn');
    assert.match(warning?.msg ?? '', /torn last record/);
    assert.equal((warning?.obj as { record?: number } | undefined)?.record, 3);
    await journal.append(RecordKind.Commitment, payload(3));
    await journal.close();
    assert.equal((await verifyJournal(dir)).ok, true);
  });

  it('truncates a zero-filled or wrongly hashed last record', async (t) => {
    const dir = tempDir(t);
    await (await filled(dir, 2)).close();
    const path = segmentPath(dir);
    appendFileSync(path, new Uint8Array(100));
    let journal = await Journal.open({ dir });
    assert.equal(journal.head.records, 2);
    await journal.close();
    // a complete last record whose hash is wrong (the disk wrote the length, not the data)
    const bytes = readFileSync(path);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 1;
    writeFileSync(path, bytes);
    journal = await Journal.open({ dir });
    assert.equal(journal.head.records, 1);
    await journal.close();
  });

  it('refuses to start on a bad record before the last, naming it', async (t) => {
    const dir = tempDir(t);
    await (await filled(dir, 3)).close();
    const path = segmentPath(dir);
    const bytes = readFileSync(path);
    const recordSize = 4 + 1 + 32 + 32;
    bytes[SEGMENT_HEADER_BYTES + recordSize + 10] =
      (bytes[SEGMENT_HEADER_BYTES + recordSize + 10] as number) ^ 0xff; // inside record 1's payload
    writeFileSync(path, bytes);
    await assert.rejects(
      Journal.open({ dir }),
      (e) => e instanceof JournalCorruptError && /record 1 at offset 133/.test(e.message),
    );
    const verified = await verifyJournal(dir);
    assert.equal(verified.ok, false);
    assert.match(verified.errors[0] ?? '', /record 1 at offset 133: chain hash/);
  });
});

describe('journal recovery with the index position', () => {
  /** Three records appended one by one (acknowledged), then three in one group commit (not yet). */
  async function lastBatchOfThree(dir: string): Promise<{ batch: StoredRecord[]; size: number }> {
    const journal = await filled(dir, 3);
    const batch = await Promise.all([3, 4, 5].map((i) => journal.append(RecordKind.Commitment, payload(i))));
    await journal.close();
    const path = join(dir, readdirSync(dir).find((n) => n.endsWith('.seg')) as string);
    // a power cut kept the later pages of the write and not the first: record 3 comes back as zeros
    const bytes = readFileSync(path);
    const first = batch[0] as StoredRecord;
    bytes.fill(0, first.offset + 4, first.offset + first.size);
    writeFileSync(path, bytes);
    return { batch, size: bytes.byteLength };
  }

  it('cuts off damage past the records the index has applied, with an error naming where and how much', async (t) => {
    const dir = tempDir(t);
    const { batch, size } = await lastBatchOfThree(dir);
    const first = batch[0] as StoredRecord;
    const log = memoryLog();
    const journal = await Journal.open({ dir, log, acknowledgedRecords: 3 });
    assert.equal(journal.head.records, 3);
    const error = log.lines.find((l) => l.level === 'error');
    assert.match(error?.msg ?? '', /truncating records written by a crash and never acknowledged/);
    assert.deepEqual(
      { ...error?.obj, reason: undefined },
      {
        segment: join(dir, '00000000000000000000.seg'),
        record: 3,
        offset: first.offset,
        bytes: size - first.offset,
        reason: undefined,
        acknowledgedRecords: 3,
      },
    );
    await journal.append(RecordKind.Commitment, payload(3));
    await journal.close();
    assert.deepEqual((await verifyJournal(dir)).records, 4);
  });

  it('refuses damage in a record the index has applied, naming it and how to recover', async (t) => {
    const dir = tempDir(t);
    const { batch } = await lastBatchOfThree(dir);
    const offset = (batch[0] as StoredRecord).offset;
    await assert.rejects(
      Journal.open({ dir, acknowledgedRecords: 4 }),
      (e) =>
        e instanceof JournalCorruptError &&
        e.message.includes(`00000000000000000000.seg: record 3 at offset ${offset}`) &&
        /the index has applied 4 records/.test(e.message) &&
        /restore the journal from a backup or a mirror/.test(e.message),
    );
    // without the index, only a torn last record may go: this is not one
    await assert.rejects(Journal.open({ dir }), /record 3 at offset \d+: .*refusing to start/);
  });

  it('removes a new last segment whose header never reached the disk', async (t) => {
    const dir = tempDir(t);
    await (await filled(dir, 4)).close();
    for (const torn of [
      new Uint8Array(0),
      new Uint8Array(SEGMENT_HEADER_BYTES),
      new Uint8Array(20).fill(0x4f),
    ]) {
      writeFileSync(join(dir, '00000000000000000004.seg'), torn);
      const log = memoryLog();
      const journal = await Journal.open({ dir, log, acknowledgedRecords: 4 });
      assert.equal(journal.head.records, 4);
      assert.match(log.lines.find((l) => l.level === 'warn')?.msg ?? '', /removing a new segment/);
      assert.deepEqual(
        readdirSync(dir).filter((n) => n.endsWith('.seg')),
        ['00000000000000000000.seg'],
      );
      await journal.close();
    }
    // a segment with a bad header and bytes after it is not a crash: refuse
    writeFileSync(join(dir, '00000000000000000004.seg'), new Uint8Array(SEGMENT_HEADER_BYTES + 1));
    await assert.rejects(Journal.open({ dir, acknowledgedRecords: 4 }), /bad magic/);
  });

  it('refuses to start a new journal where the index has applied records', async (t) => {
    const dir = tempDir(t);
    await assert.rejects(
      Journal.open({ dir, create: true, acknowledgedRecords: 5 }),
      /no journal segments in .*, but the index has applied 5 records/,
    );
    assert.deepEqual(readdirSync(dir), []);
  });
});

describe('journal segments', () => {
  it('rolls over to new segments, reads across them, and verifies', async (t) => {
    const dir = tempDir(t);
    const journal = await filled(dir, 50, 1000);
    const names = readdirSync(dir)
      .filter((n) => n.endsWith('.seg'))
      .sort();
    assert.ok(names.length > 3, `expected several segments, got ${names.length}`);
    assert.equal(names[0], '00000000000000000000.seg');
    const records = await recordsOf(journal);
    assert.deepEqual(
      records.map((r) => r.number),
      Array.from({ length: 50 }, (_, i) => i),
    );
    assert.deepEqual((await recordsOf(journal, 37)).map((r) => r.number)[0], 37);
    // resume from a cursor in another segment
    const at = records[20] as StoredRecord;
    const resumed = await recordsOf(journal, {
      ...at,
      previousChainHash: (records[19] as StoredRecord).chainHash,
    });
    assert.equal(resumed.length, 30);
    await journal.close();
    const reopened = await Journal.open({ dir, maxSegmentBytes: 1000 });
    assert.equal(reopened.head.records, 50);
    await reopened.close();
    const verified = await verifyJournal(dir);
    assert.deepEqual([verified.ok, verified.records, verified.segments], [true, 50, names.length]);
  });

  it('reads in batches the records read gives, at most `most` a batch, from a number or a cursor', async (t) => {
    const dir = tempDir(t);
    const journal = await filled(dir, 50, 1000);
    const records = await recordsOf(journal);
    const batched = async (from: Parameters<Journal['readBatches']>[0], most: number) => {
      const sizes: number[] = [];
      const out: StoredRecord[] = [];
      for await (const batch of journal.readBatches(from, most)) {
        sizes.push(batch.length);
        out.push(...batch);
      }
      return { sizes, out };
    };
    const all = await batched(0, 4);
    assert.deepEqual(all.out.map(recordFields), records.map(recordFields));
    assert.ok(all.sizes.every((n) => n >= 1 && n <= 4));
    assert.deepEqual((await batched(37, 1000)).out.map(recordFields), records.slice(37).map(recordFields));
    const at = records[20] as StoredRecord;
    const cursor = {
      number: at.number,
      segment: at.segment,
      offset: at.offset,
      previousChainHash: (records[19] as StoredRecord).chainHash,
    };
    assert.deepEqual((await batched(cursor, 7)).out.map(recordFields), records.slice(20).map(recordFields));
    await journal.close();
  });

  it('reads in batches up to a damaged record, then throws naming it', async (t) => {
    const dir = tempDir(t);
    const journal = await filled(dir, 5);
    const path = segmentPath(dir);
    const bytes = readFileSync(path);
    const recordSize = 4 + 1 + 32 + 32;
    bytes[SEGMENT_HEADER_BYTES + 3 * recordSize + 10] =
      (bytes[SEGMENT_HEADER_BYTES + 3 * recordSize + 10] as number) ^ 0xff; // inside record 3's payload
    writeFileSync(path, bytes);
    const read: number[] = [];
    await assert.rejects(
      (async () => {
        for await (const batch of journal.readBatches(0, 100)) read.push(...batch.map((r) => r.number));
      })(),
      (e) => e instanceof JournalCorruptError && /record 3 at offset/.test(e.message),
    );
    assert.deepEqual(read, [0, 1, 2]);
    await journal.close();
  });

  it('refuses segments that do not link, and verify-journal finds a missing segment', async (t) => {
    const dir = tempDir(t);
    await (await filled(dir, 60, 1000)).close();
    const names = readdirSync(dir)
      .filter((n) => n.endsWith('.seg'))
      .sort();
    const second = join(dir, names[1] as string);
    const original = readFileSync(second);
    const bytes = Buffer.from(original);
    bytes[30] = (bytes[30] as number) ^ 1; // previous chain hash in the header
    writeFileSync(second, bytes);
    await assert.rejects(Journal.open({ dir }), /does not chain to it/);
    writeFileSync(second, original);
    // remove a middle segment: the chain breaks at the next one
    const { rmSync } = await import('node:fs');
    rmSync(join(dir, names[2] as string));
    const verified = await verifyJournal(dir);
    assert.equal(verified.ok, false);
    assert.match(verified.errors[0] ?? '', /starts at record \d+, but \d+ records come before it/);
  });
});
