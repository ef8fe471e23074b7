/**
 * The end of a round: every waiting digest answered, in slices that let the event loop run between;
 * rounds an interval apart.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  Aggregator,
  AggregatorClosedError,
  AggregatorOverloadedError,
  type DigestReceiver,
} from '../../src/aggregator/aggregator.js';
import { Calendar } from '../../src/calendar/calendar.js';
import { Journal, JournalUnavailableError } from '../../src/journal/journal.js';
import { RecordKind } from '../../src/journal/record.js';
import { PendingAttestation, Timestamp, toHex } from '../../src/ots/index.js';
import { DiskFullFaultInjector } from '../helpers/disk-full-fault-injector.js';
import { memoryLog, tempDir } from '../helpers/temp-dir.js';
import { TEST_URI } from '../helpers/test-calendar.js';

describe('Aggregator', () => {
  it('answers every digest of a large round, returning to the event loop between slices', async (t) => {
    const calendar = await Calendar.open({ dataDir: tempDir(t), uri: TEST_URI, create: true });
    t.after(() => calendar.close());
    // one round: the timer never fires before stop() commits what waits
    const aggregator = new Aggregator({ sink: calendar, intervalMs: 60_000 });
    const digests = Array.from({ length: 1500 }, () => new Uint8Array(randomBytes(32)));
    let answered = 0;
    let answeredWhenLoopRan: number | undefined;
    const answers = digests.map((d, i) =>
      aggregator.submit(d).then((bytes) => {
        answered++;
        // the loop's next turn, asked for at the first answer: it runs before the last answer only if
        // the answers are given in slices
        if (i === 0) setImmediate(() => (answeredWhenLoopRan ??= answered));
        return bytes;
      }),
    );
    await aggregator.stop();
    const proofs = await Promise.all(answers);
    assert.equal(answered, digests.length);
    assert.equal(aggregator.stats.rounds, 1);
    const tips = new Set<string>();
    for (const [i, bytes] of proofs.entries()) {
      const timestamp = Timestamp.fromBytes(digests[i] as Uint8Array, bytes);
      const attested = [...timestamp.allAttestations()];
      assert.equal(attested.length, 1, `digest ${i}: one attestation, the calendar's`);
      tips.add(toHex((attested[0] as [Uint8Array, unknown])[0]));
    }
    assert.equal(tips.size, 1, 'every answer leads to the same commitment');
    assert.ok(
      answeredWhenLoopRan !== undefined && answeredWhenLoopRan < digests.length,
      `the event loop ran after ${answeredWhenLoopRan} of ${digests.length} answers`,
    );
  });

  it('tells a receiver its digest timestamp after the round, or at once why it has none', async (t) => {
    const calendar = await Calendar.open({ dataDir: tempDir(t), uri: TEST_URI, create: true });
    t.after(() => calendar.close());
    const aggregator = new Aggregator({ sink: calendar, intervalMs: 60_000, maxWaiting: 1 });
    /** What each receiver was told, in order. */
    const told: string[] = [];
    const receiver = (name: string): DigestReceiver & { bytes?: Uint8Array } => {
      const r: DigestReceiver & { bytes?: Uint8Array } = {
        answered: (bytes) => {
          r.bytes = bytes;
          told.push(`${name}: answered`);
        },
        failed: (e) => told.push(`${name}: ${e.name}`),
      };
      return r;
    };
    const digest = new Uint8Array(randomBytes(32));
    const first = receiver('first');
    aggregator.submitTo(digest, first);
    aggregator.submitTo(new Uint8Array(randomBytes(32)), receiver('over the cap'));
    assert.deepEqual(told, [`over the cap: ${AggregatorOverloadedError.name}`], 'refused at once');
    await aggregator.stop();
    aggregator.submitTo(new Uint8Array(randomBytes(32)), receiver('after the stop'));
    assert.deepEqual(told, [
      `over the cap: ${AggregatorOverloadedError.name}`,
      'first: answered',
      `after the stop: ${AggregatorClosedError.name}`,
    ]);
    const attested = [...Timestamp.fromBytes(digest, first.bytes as Uint8Array).allAttestations()];
    assert.equal(attested.length, 1, "the answer leads to the calendar's attestation");
    assert.throws(() => aggregator.submitTo(new Uint8Array(65), receiver('too long')), RangeError);
  });

  it('a receiver that throws is logged, and the rest of its round is still answered', async (t) => {
    const calendar = await Calendar.open({ dataDir: tempDir(t), uri: TEST_URI, create: true });
    t.after(() => calendar.close());
    const log = memoryLog();
    const aggregator = new Aggregator({ sink: calendar, intervalMs: 60_000, log });
    const answered: number[] = [];
    for (let i = 0; i < 5; i++) {
      aggregator.submitTo(new Uint8Array(randomBytes(32)), {
        answered: () => {
          if (i === 1) throw new Error('receiver bug');
          answered.push(i);
        },
        failed: (e) => assert.fail(e),
      });
    }
    await aggregator.stop();
    assert.deepEqual(answered, [0, 2, 3, 4]);
    const lines = log.lines.filter((l) => l.msg === 'aggregator: a digest could not be told its outcome');
    assert.equal(lines.length, 1, JSON.stringify(log.lines));
  });

  it('logs rounds refused on a full disk once per interval with a count, without a stack each', async (t) => {
    // a real journal on a disk the fault injector makes full, committed to as a calendar does
    const files = new DiskFullFaultInjector();
    const journal = await Journal.open({ dir: tempDir(t), create: true, files });
    t.after(() => journal.close());
    const sink = {
      commit: async (tip: Uint8Array) => {
        await journal.append(RecordKind.Commitment, tip);
        return new Timestamp(tip);
      },
    };
    const log = memoryLog();
    const aggregator = new Aggregator({ sink, intervalMs: 60_000, maxDigestsPerRound: 1, log });
    files.fill();
    const refused = Array.from({ length: 5 }, () =>
      assert.rejects(aggregator.submit(new Uint8Array(randomBytes(32))), JournalUnavailableError),
    );
    await aggregator.stop();
    await Promise.all(refused);
    const lines = log.lines.filter((l) => l.msg.startsWith('aggregator:'));
    assert.equal(lines.length, 2, JSON.stringify(lines));
    const [first, summary] = lines as [(typeof lines)[0], (typeof lines)[0]];
    assert.match((first.obj as { cause: string }).cause, /ENOSPC/);
    assert.equal((first.obj as { err?: unknown }).err, undefined, 'no stack');
    assert.equal((summary.obj as { count: number }).count, 4);
    assert.match(summary.msg, /4 more since the last line/);
    files.free();
  });

  it('ticks an interval apart, however long the work at the start of a round', async () => {
    const INTERVAL_MS = 200;
    const WORK_MS = 80;
    const ticks: number[] = [];
    // a round that begins with 80 ms of work on the event loop (a round of hundreds of thousands of
    // digests builds its tree for as long); then a calendar's answer at once, with no disk to wait for,
    // so that a slow fsync cannot hold the round slot over a tick and skip a round
    const sink = {
      commit: (tip: Uint8Array) => {
        ticks.push(performance.now());
        const until = performance.now() + WORK_MS;
        while (performance.now() < until);
        const answer = new Timestamp(tip);
        answer.attestations.add(new PendingAttestation(TEST_URI));
        return Promise.resolve(answer);
      },
    };
    const aggregator = new Aggregator({ sink, intervalMs: INTERVAL_MS });
    aggregator.start();
    // a digest waits at every tick
    const answers: Promise<Uint8Array>[] = [];
    const feeding = setInterval(() => answers.push(aggregator.submit(new Uint8Array(randomBytes(32)))), 20);
    while (ticks.length < 8) await new Promise((resolve) => setTimeout(resolve, INTERVAL_MS));
    clearInterval(feeding);
    await aggregator.stop();
    await Promise.all(answers);
    // once WORK_MS a round late, once more each further round, every gap would be INTERVAL_MS + WORK_MS;
    // the median gap is that still, while a tick the machine made late lengthens one or two gaps only
    const gaps = ticks
      .slice(1, 8)
      .map((tick, i) => tick - (ticks[i] as number))
      .sort((a, b) => a - b);
    const median = gaps[3] as number;
    assert.ok(
      median < INTERVAL_MS + WORK_MS / 2,
      `ticks a median ${median.toFixed(0)} ms apart (${gaps.map((g) => g.toFixed(0)).join(', ')})`,
    );
  });
});
