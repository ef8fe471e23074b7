/**
 * The status page's counts (commitments, pending) are kept as records are applied, not counted per
 * request: after any sequence of commitments, repeated commitments, proofs and second proofs, and a
 * batch that fails halfway, they equal a full count of the index's databases (a reopened index counts
 * them afresh) and a model of what was done.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Calendar } from '../../src/calendar/calendar.js';
import { IndexConsistencyError } from '../../src/index/errors.js';
import type { StoredRecord } from '../../src/journal/journal.js';
import { RecordKind } from '../../src/journal/record.js';
import { BitcoinBlockHeaderAttestation, sha256, Timestamp } from '../../src/ots/index.js';
import { tempDir } from '../helpers/temp-dir.js';

const URI = 'http://127.0.0.1:14788';

type Step =
  | { kind: 'commit'; value: number }
  | { kind: 'prove'; picks: number[] }
  | { kind: 'failed batch'; value: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('commit' as const), value: fc.integer({ min: 0, max: 15 }) }),
  fc.record({
    kind: fc.constant('prove' as const),
    picks: fc.uniqueArray(fc.integer({ min: 0, max: 12 }), { minLength: 1, maxLength: 6 }),
  }),
  fc.record({ kind: fc.constant('failed batch' as const), value: fc.integer({ min: 100, max: 130 }) }),
);

/** A commitment record the index has not seen, then a record past a gap: the batch throws. */
function failingBatch(next: number, value: number): StoredRecord[] {
  const record = (number: number): StoredRecord =>
    ({
      number,
      kind: RecordKind.Commitment,
      payload: sha256(new Uint8Array([value])),
      chainHash: new Uint8Array(32),
      segment: 0,
      offset: 0,
      size: 0,
    }) as StoredRecord;
  return [record(next), record(next + 2)];
}

describe('commitment counts', () => {
  it('equal a full count and the model after random operations', async (t) => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 40 }), async (steps) => {
        const dataDir = tempDir(t);
        let calendar = await Calendar.open({ dataDir, uri: URI, create: true });
        try {
          // the model: each commitment's value and record number, and the pending record numbers
          const records: number[] = [];
          const recordNumbers: number[] = [];
          const pending = new Set<number>();
          // counted from the start, so that every step after changes kept counts
          assert.equal(calendar.index.pendingCount, 0);
          for (const s of steps) {
            if (s.kind === 'commit') {
              const number = calendar.journal.head.records;
              await calendar.commit(sha256(new Uint8Array([s.value])));
              records.push(s.value);
              recordNumbers.push(number);
              pending.add(number);
            } else if (s.kind === 'prove') {
              const covered = [...new Set(s.picks.filter((p) => p < records.length))].sort((a, b) => a - b);
              if (covered.length === 0) continue;
              const numbers = covered.map((i) => recordNumbers[i] as number);
              const tip = new Timestamp(calendar.merkleTip(numbers));
              tip.attestations.add(new BitcoinBlockHeaderAttestation(1));
              await calendar.addProof(numbers, tip);
              for (const n of numbers) pending.delete(n);
            } else {
              assert.throws(
                () => calendar.index.apply(failingBatch(calendar.journal.head.records, s.value)),
                IndexConsistencyError,
              );
            }
            assert.equal(calendar.index.pendingCount, pending.size);
            assert.equal(calendar.index.commitmentCount, new Set(records).size);
          }
          await calendar.close();
          calendar = await Calendar.open({ dataDir, uri: URI });
          assert.equal(calendar.index.pendingCount, pending.size, 'a full count of pending');
          assert.equal(calendar.index.commitmentCount, new Set(records).size, 'a full count of commitments');
        } finally {
          await calendar.close();
        }
      }),
      { numRuns: 25 },
    );
  });
});
