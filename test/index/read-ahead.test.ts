/**
 * Reading the journal in another thread while an index catches up (src/index/read-ahead.ts): the same
 * records in the same batches as Journal.readBatches, the trees of the proofs it could build, the same
 * end at a damaged record, an index equal to one built reading here, and the thread ended however the
 * reading ends.
 */
import assert from 'node:assert/strict';
import { closeSync, openSync, readFileSync, readSync, truncateSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CalendarIndex } from '../../src/index/calendar-index.js';
import { catchUpIndex } from '../../src/index/catch-up.js';
import { readAhead } from '../../src/index/read-ahead.js';
import type { ReadAheadBatch } from '../../src/index/read-ahead-message.js';
import { Journal, JournalCorruptError, type StoredRecord } from '../../src/journal/journal.js';
import { MerkleLevels } from '../../src/journal/merkle-levels.js';
import { decodeProofPayload, encodeProofPayload } from '../../src/journal/proof-payload.js';
import { RecordKind } from '../../src/journal/record.js';
import { segmentFileName } from '../../src/journal/segment.js';
import { BitcoinBlockHeaderAttestation, sha256, Timestamp } from '../../src/ots/index.js';
import { FAILING_THREAD, THREAD_FAILURES, withFailingThreads } from '../helpers/failing-thread.js';
import { indexContents, indexDifference } from '../helpers/index-contents.js';
import { mixedJournal } from '../helpers/mixed-journal.js';
import { recordFields, recordsOf } from '../helpers/record-fields.js';
import { tempDir } from '../helpers/temp-dir.js';

/** A proof record's payload covering `records`, whose commitments are `commitments`. */
function proofOf(records: number[], commitments: Uint8Array[]): Uint8Array {
  const tip = new Timestamp(MerkleLevels.of(commitments, commitments.length).root);
  tip.attestations.add(new BitcoinBlockHeaderAttestation(800_000));
  return encodeProofPayload({ commitments: records, tip });
}

const READ_AHEAD_THREAD = new URL('../../src/index/read-ahead-worker.js', import.meta.url);

const commitmentOf = (i: number) => sha256(new Uint8Array([i >> 16, i >> 8, i]));

/**
 * A journal of `commitments` commitments (every 1000th one a repeat of an earlier one) in segments of
 * `segmentBytes`, a proof of each `perProof` of them as they come, a proof of commitments from the
 * start now and then (far behind: no tree built ahead for it); with `oddRecords`, a proof whose payload
 * does not decode and a record of another kind too (which an index refuses).
 */
async function buildJournal(
  dir: string,
  commitments: number,
  perProof: number,
  segmentBytes: number,
  oddRecords = false,
) {
  const journal = await Journal.open({ dir, create: true, maxSegmentBytes: segmentBytes });
  const held: { record: number; commitment: Uint8Array }[] = [];
  let unproven: typeof held = [];
  for (let i = 0; i < commitments; i += 256) {
    const group = Array.from({ length: Math.min(256, commitments - i) }, (_, j) =>
      commitmentOf((i + j) % 1000 === 999 ? i + j - 500 : i + j),
    );
    const records = await Promise.all(group.map((c) => journal.append(RecordKind.Commitment, c)));
    const added = records.map((r, j) => ({ record: r.number, commitment: group[j] as Uint8Array }));
    held.push(...added);
    unproven.push(...added);
    while (unproven.length >= perProof) {
      const covered = unproven.slice(0, perProof);
      unproven = unproven.slice(perProof);
      const proof = proofOf(
        covered.map((c) => c.record),
        covered.map((c) => c.commitment),
      );
      await journal.append(RecordKind.Proof, proof);
    }
    if (oddRecords && i === 1024) await journal.append(RecordKind.Proof, new Uint8Array(3));
    if ((i / 256) % 7 === 3) {
      const early = held.slice(0, 3);
      const proof = proofOf(
        early.map((c) => c.record),
        early.map((c) => c.commitment),
      );
      await journal.append(RecordKind.Proof, proof);
    }
  }
  if (oddRecords) {
    await journal.append(RecordKind.Proof, new Uint8Array(3));
    await journal.append(RecordKind.StampEnd, new Uint8Array(9));
  }
  return journal;
}

/** Every batch of a reading, its records as plain values. */
async function batchesOf(
  reading: AsyncGenerator<StoredRecord[] | ReadAheadBatch>,
): Promise<{ batches: object[][]; trees: Map<number, MerkleLevels>; error?: Error }> {
  const batches: object[][] = [];
  const trees = new Map<number, MerkleLevels>();
  try {
    for await (const batch of reading) {
      const records = Array.isArray(batch) ? batch : batch.records;
      if (!Array.isArray(batch)) for (const [n, tree] of batch.trees) trees.set(n, tree);
      batches.push(records.map(recordFields));
    }
  } catch (error) {
    return { batches, trees, error: error as Error };
  }
  return { batches, trees };
}

/** Threads of this process (Linux), after node's own pool started. */
function threads(): number {
  const line = readFileSync('/proc/self/status', 'utf8').match(/^Threads:\s+(\d+)$/m);
  return Number(line?.[1]);
}

describe('reading the journal ahead in another thread', () => {
  it('reads the records readBatches reads, in the same batches, with the trees of the proofs over the commitments it kept', async (t) => {
    const journal = await buildJournal(join(tempDir(t), 'journal'), 3000, 90, 16 * 1024, true);
    t.after(() => journal.close());
    const here = await batchesOf(journal.readBatches(0, 37));
    const ahead = await batchesOf(readAhead(journal.readPlan(0), { most: 37, keptRecords: 200 }));
    assert.equal(here.error, undefined);
    assert.equal(ahead.error, undefined);
    assert.ok(here.batches.length > 80);
    assert.deepEqual(ahead.batches, here.batches);

    // a tree for each proof whose commitments are among the 200 records before it, and for no other
    const commitments = new Map<number, Uint8Array>();
    let withTree = 0;
    let without = 0;
    for await (const record of journal.read()) {
      if (record.kind === RecordKind.Commitment) commitments.set(record.number, Buffer.from(record.payload));
      if (record.kind !== RecordKind.Proof) continue;
      if (record.payload.byteLength === 3) {
        assert.equal(ahead.trees.get(record.number), undefined, 'no tree for a payload that does not decode');
        continue;
      }
      const covered = decodeProofPayload(record.payload).commitments;
      const tree = ahead.trees.get(record.number);
      const behind = Math.max(...covered.map((n) => record.number - n));
      // within the last 200 records: kept; a slot not taken since by a later commitment may keep older ones
      if (behind <= 200) assert.ok(tree, `a tree for proof ${record.number}`);
      if (behind >= 1000) assert.equal(tree, undefined, `no tree for proof ${record.number}`);
      if (tree) {
        const expected = MerkleLevels.of(
          covered.map((n) => commitments.get(n) as Uint8Array),
          covered.length,
        );
        assert.ok(tree.nodeBytes.equals(expected.nodeBytes), `proof ${record.number}'s tree`);
        withTree++;
      } else without++;
    }
    assert.ok(withTree > 10 && without > 3, `${withTree} proofs with a tree, ${without} without`);

    // from a cursor, as readBatches resumes
    const [, second] = here.batches as StoredRecord[][];
    const at = (second as StoredRecord[])[5] as StoredRecord;
    const previousChainHash = await journal.chainHashBefore(at);
    const cursor = { number: at.number, segment: at.segment, offset: at.offset, previousChainHash };
    assert.deepEqual(
      (await batchesOf(readAhead(journal.readPlan(cursor), { most: 50 }))).batches,
      (await batchesOf(journal.readBatches(cursor, 50))).batches,
    );
  });

  it('ends with JournalCorruptError after the records before a damaged one, as readBatches does', async (t) => {
    const dir = join(tempDir(t), 'journal');
    const journal = await buildJournal(dir, 2000, 90, 16 * 1024);
    t.after(() => journal.close());
    const records = await recordsOf(journal);
    const damaged = records[1234] as StoredRecord;
    flipByte(join(dir, segmentFileName(damaged.segment)), damaged.offset + damaged.size - 1);

    const here = await batchesOf(journal.readBatches(0, 37));
    const ahead = await batchesOf(readAhead(journal.readPlan(0), { most: 37 }));
    assert.ok(here.error instanceof JournalCorruptError);
    assert.ok(ahead.error instanceof JournalCorruptError);
    assert.equal(ahead.error.message, here.error.message);
    assert.match(ahead.error.message, /record 1234 at offset .*chain hash/);
    assert.deepEqual(ahead.batches, here.batches);
    assert.equal(ahead.batches.flat().length, 1234);
  });

  it('ends with an error naming it when a segment cannot be read', async (t) => {
    const dir = join(tempDir(t), 'journal');
    const journal = await buildJournal(dir, 1000, 90, 16 * 1024);
    t.after(() => journal.close());
    const plan = journal.readPlan(0);
    unlinkSync(join(dir, segmentFileName((plan.segments[2] as { first: number }).first)));
    const ahead = await batchesOf(readAhead(plan, { most: 37 }));
    assert.match(String(ahead.error?.message), /^journal read-ahead: ENOENT.*no such file/);
    // its code too, which tells a storage error apart
    assert.equal((ahead.error as { code?: string }).code, 'ENOENT');
    assert.deepEqual(ahead.batches, (await batchesOf(journal.readBatches(0, 37))).batches);
  });

  it("ends with JournalCorruptError where a segment was cut short at a record's end, as readBatches does", async (t) => {
    const dir = join(tempDir(t), 'journal');
    const journal = await buildJournal(dir, 1000, 90, 16 * 1024);
    t.after(() => journal.close());
    const records = await recordsOf(journal);
    const segments = journal.readPlan(0).segments;
    const second = segments[1] as { first: number; size: number };
    const cut = records.find((r) => r.segment === second.first && r.offset > second.size / 2) as StoredRecord;
    truncateSync(join(dir, segmentFileName(second.first)), cut.offset);

    const here = await batchesOf(journal.readBatches(0, 37));
    const ahead = await batchesOf(readAhead(journal.readPlan(0), { most: 37 }));
    assert.ok(here.error instanceof JournalCorruptError);
    assert.match(
      here.error.message,
      new RegExp(`the file ends at offset ${cut.offset}, before the ${second.size} bytes`),
    );
    assert.ok(ahead.error instanceof JournalCorruptError);
    assert.equal(ahead.error.message, here.error.message);
    assert.deepEqual(ahead.batches, here.batches);
    assert.equal(ahead.batches.flat().length, cut.number);
  });

  it('ends its thread however the reading ends', async (t) => {
    const journal = await buildJournal(join(tempDir(t), 'journal'), 2000, 90, 16 * 1024);
    t.after(() => journal.close());
    await batchesOf(journal.readBatches(0));
    const before = threads();
    const reading = readAhead(journal.readPlan(0), { most: 10 });
    await reading.next();
    assert.ok(threads() > before, 'a thread reads');
    await reading.return(undefined);
    assert.equal(threads(), before);

    // a consumer that throws (an index write failing) ends it too
    await assert.rejects(async () => {
      for await (const _ of readAhead(journal.readPlan(0), { most: 10 })) throw new Error('the index failed');
    }, /the index failed/);
    assert.equal(threads(), before);
  });

  it('builds from a journal of every kind of record, from nothing and from a partly applied index, the index reading here builds', async (t) => {
    const dir = tempDir(t);
    const { journal } = await mixedJournal(join(dir, 'journal'), 20_000, 64 * 1024, 7);
    t.after(() => journal.close());
    const here = CalendarIndex.open(join(dir, 'here'), join(dir, 'journal'));
    await catchUpIndex(here, journal, { readAheadFrom: Number.POSITIVE_INFINITY });
    await here.close();
    const expected = await indexContents(join(dir, 'here'));
    for (const [most, keptRecords, partly] of [
      [37, 1, 0],
      [997, 5000, 0],
      [333, 2000, 7777],
    ] as const) {
      const name = `ahead-${most}-${keptRecords}-${partly}`;
      const index = CalendarIndex.open(join(dir, name), join(dir, 'journal'));
      try {
        // partly applied here first: read ahead from a cursor inside a segment
        for await (const batch of journal.readBatches(0, partly || 1)) {
          if (partly > 0) index.apply(batch);
          break;
        }
        const from = index.applied.number === 0 ? 0 : index.applied;
        for await (const { records, trees } of readAhead(journal.readPlan(from), { most, keptRecords })) {
          index.offerProofTrees(trees);
          index.apply(records);
        }
        assert.equal(index.applied.number, journal.head.records);
      } finally {
        await index.close();
      }
      assert.equal(indexDifference(await indexContents(join(dir, name)), expected), undefined, name);
    }
  });

  it('a catch-up reading ahead builds the index a catch-up reading here builds', async (t) => {
    const dir = tempDir(t);
    const journal = await buildJournal(join(dir, 'journal'), 110_000, 600, 4 * 1024 * 1024);
    t.after(() => journal.close());
    for (const [name, readAheadFrom] of [
      ['ahead', 0],
      ['here', Number.POSITIVE_INFINITY],
    ] as const) {
      const index = CalendarIndex.open(join(dir, name), join(dir, 'journal'));
      try {
        await catchUpIndex(index, journal, { readAheadFrom });
        assert.equal(index.applied.number, journal.head.records);
        // a copy of the last record's chain hash, not a view keeping its batch's bytes
        assert.equal(index.applied.previousChainHash.buffer.byteLength, 32);
      } finally {
        await index.close();
      }
    }
    const difference = indexDifference(
      await indexContents(join(dir, 'ahead')),
      await indexContents(join(dir, 'here')),
    );
    assert.equal(difference, undefined);

    // its thread failing, at its start or after two batches (a crash, or a bug in its loop): the rest
    // read here, the same index
    for (const [failure, said] of THREAD_FAILURES) {
      const name = `failing-${JSON.stringify(failure).replace(/\W+/g, '-')}`;
      const index = CalendarIndex.open(join(dir, name), join(dir, 'journal'));
      const failures: string[] = [];
      const batchesApplied: number[] = [];
      try {
        await withFailingThreads(READ_AHEAD_THREAD, failure, () =>
          catchUpIndex(index, journal, {
            readAheadFrom: 0,
            readAheadThreadScript: FAILING_THREAD,
            onThreadFailure: (e) => failures.push(e.message),
            onProgress: (applied) => batchesApplied.push(applied),
          }),
        );
        assert.equal(index.applied.number, journal.head.records);
      } finally {
        await index.close();
      }
      assert.deepEqual(failures, [`journal read-ahead: ${said}`]);
      assert.ok(batchesApplied.length > 3, `${batchesApplied.length} batches`);
      const built = await indexContents(join(dir, name));
      assert.equal(indexDifference(built, await indexContents(join(dir, 'here'))), undefined, name);
    }
  });
});

function flipByte(path: string, at: number): void {
  const fd = openSync(path, 'r+');
  try {
    const byte = Buffer.alloc(1);
    readSync(fd, byte, 0, 1, at);
    byte[0] = (byte[0] as number) ^ 0xff;
    writeSync(fd, byte, 0, 1, at);
  } finally {
    closeSync(fd);
  }
}
