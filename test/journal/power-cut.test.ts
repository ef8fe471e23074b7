/**
 * The fsync discipline itself, which kill -9 cannot test (the page cache survives a killed process):
 * the journal runs over a fault injector that simulates power cuts (see
 * test/helpers/power-cut-fault-injector.ts). Random batches are appended concurrently, the power is cut
 * at a random file operation (or during recovery), and the journal is opened again with the position
 * the index could have stored. Every acknowledged record must be there with the same bytes, the journal
 * must open, and its chain must verify.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import fc from 'fast-check';
import { Journal, JournalCorruptError } from '../../src/journal/journal.js';
import { verifyJournal } from '../../src/journal/verify.js';
import { toHex } from '../../src/ots/index.js';
import { PowerCutFaultInjector, seededRandom } from '../helpers/power-cut-fault-injector.js';

const DIR = '/data/journal';
/** A kind this version does not know: its payload may be kilobytes, so a batch spans several pages. */
const OPAQUE_KIND = 0x7f;

/** How often each warning and error was logged over all runs: what the runs went through. */
const logged = new Map<string, number>();
const count = (_obj: object, msg: string) => {
  logged.set(msg, (logged.get(msg) ?? 0) + 1);
};
const seen = { info() {}, warn: count, error: count };

/** Where the index stands after a power cut: at most where it was, at least nowhere. */
const indexPositions = ['applied', 'acknowledged', 'stale', 'missing'] as const;

const cycleArb = fc.record({
  /** Batches of payload sizes; each batch is appended at once, after a few event-loop turns. */
  batches: fc.array(
    fc.record({
      sizes: fc.array(fc.integer({ min: 1, max: 4000 }), { minLength: 1, maxLength: 10 }),
      wait: fc.nat(4),
    }),
    { minLength: 1, maxLength: 6 },
  ),
  /** The file operation at which the power goes; past the last one, it goes once all appends settled. */
  cutAt: fc.nat(24),
  /** Sometimes the power goes again while the journal recovers. */
  cutWhileOpening: fc.option(fc.nat(6), { nil: undefined }),
  index: fc.constantFrom(...indexPositions),
});

const scenarioArb = fc.record({
  seed: fc.integer(),
  maxSegmentBytes: fc.integer({ min: 256, max: 65_536 }),
  cycles: fc.array(cycleArb, { minLength: 1, maxLength: 4 }),
});

type Scenario = typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never;

const isPowerFailure = (e: unknown): boolean => /the power (was cut|is off)/.test(String(e));

/** Runs one scenario; returns normally when every check holds. */
async function runScenario({ seed, maxSegmentBytes, cycles }: Scenario): Promise<void> {
  const disk = new PowerCutFaultInjector(seed, '/data');
  const random = seededRandom(seed ^ 0x5eed);
  const acknowledged = new Map<number, string>();
  let applied = 0; // what the index has applied: every batch whose listeners ran
  const open = (acknowledgedRecords: number | undefined) =>
    Journal.open({
      dir: DIR,
      create: true,
      files: disk,
      maxSegmentBytes,
      log: seen,
      ...(acknowledgedRecords !== undefined && { acknowledgedRecords }),
    });
  let journal = await open(undefined);
  for (const cycle of cycles) {
    journal.onAppend((records) => {
      applied = (records.at(-1)?.number ?? -1) + 1;
    });
    disk.cutAfter(cycle.cutAt);
    const appends: Promise<void>[] = [];
    for (const batch of cycle.batches) {
      for (let i = 0; i < batch.wait; i++) await tick();
      for (const size of batch.sizes) {
        const payload = Uint8Array.from({ length: size }, () => Math.floor(random() * 256));
        appends.push(
          journal.append(OPAQUE_KIND, payload).then(
            (record) => {
              acknowledged.set(record.number, toHex(payload));
            },
            (e: unknown) => assert.ok(isPowerFailure(e), `append failed: ${e}`),
          ),
        );
      }
    }
    await Promise.all(appends);
    if (disk.powered) disk.cut();
    disk.powerOn();
    await journal.close();

    const highestAcknowledged = Math.max(0, ...[...acknowledged.keys()].map((n) => n + 1));
    const position = {
      applied,
      acknowledged: highestAcknowledged,
      stale: Math.floor(random() * (applied + 1)),
      missing: undefined,
    }[cycle.index];
    disk.cutAfter(cycle.cutWhileOpening);
    let reopened: Journal | undefined;
    for (let attempt = 0; !reopened; attempt++) {
      try {
        reopened = await open(position);
      } catch (e) {
        if (isPowerFailure(e) && attempt === 0) {
          disk.powerOn();
          continue;
        }
        // without the index only a torn last record is cut off: damage further back refuses to start
        if (position === undefined && e instanceof JournalCorruptError) {
          count({}, 'refused without the index');
          return;
        }
        throw e;
      }
    }
    disk.cutAfter(undefined);
    journal = reopened;
    const stored = new Map<number, string>();
    for await (const record of journal.read()) stored.set(record.number, toHex(record.payload));
    for (const [number, payload] of acknowledged) {
      assert.equal(stored.get(number), payload, `acknowledged record ${number} lost or changed`);
    }
    const verified = await verifyJournal(DIR, { files: disk });
    assert.deepEqual(verified.errors, []);
    assert.equal(verified.tornTail, undefined);
    assert.equal(verified.records, journal.head.records);
    // the index catches up with everything that survived
    applied = journal.head.records;
  }
  await journal.close();
}

/** A journal created in a data directory that is itself new: every new directory entry must be synced. */
async function newDataDirSurvives(seed: number): Promise<void> {
  const disk = new PowerCutFaultInjector(seed, '/srv');
  const dir = '/srv/otsd/journal';
  const journal = await Journal.open({ dir, create: true, files: disk });
  await journal.append(OPAQUE_KIND, new Uint8Array([1, 2, 3]));
  disk.cut();
  disk.powerOn();
  const reopened = await Journal.open({ dir, files: disk, acknowledgedRecords: 1 });
  assert.equal(reopened.head.records, 1, `seed ${seed}`);
  await reopened.close();
}

describe('journal under power cuts', () => {
  it('keeps a new data directory, its journal and first records after a power cut', async () => {
    for (let seed = 0; seed < 32; seed++) await newDataDirSurvives(seed);
  });

  it('keeps every acknowledged record, opens and verifies after a cut at any point', async (t) => {
    await fc.assert(fc.asyncProperty(scenarioArb, runScenario), { numRuns: 200 });
    t.diagnostic(`logged: ${JSON.stringify(Object.fromEntries(logged))}`);
  });
});
