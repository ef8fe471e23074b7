/**
 * Rounds that close when the sink is free (group commit, as an aggregator in front of upstream
 * calendars runs them): a round goes as soon as nothing is committing, digests that arrive while a
 * round commits go in a second round and the rest together once the sink answers, the interval still
 * bounds the wait, a failing sink falls back to the interval, and a stop answers every digest.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  Aggregator,
  AggregatorClosedError,
  EARLY_ROUNDS_PER_INTERVAL,
  GATHER_MAX_MS,
} from '../../src/aggregator/aggregator.js';
import { Calendar } from '../../src/calendar/calendar.js';
import { Journal, JournalUnavailableError } from '../../src/journal/journal.js';
import { RecordKind } from '../../src/journal/record.js';
import { Timestamp, toHex } from '../../src/ots/index.js';
import { DiskFullFaultInjector } from '../helpers/disk-full-fault-injector.js';
import { tempDir } from '../helpers/temp-dir.js';
import { TEST_URI } from '../helpers/test-calendar.js';
import { waitFor } from '../helpers/wait-for.js';

/** Longer than any test: a round that closes did not wait for the timer. */
const HOUR = 3_600_000;

const digest = () => new Uint8Array(randomBytes(32));

async function openCalendar(t: TestContext): Promise<Calendar> {
  const calendar = await Calendar.open({ dataDir: tempDir(t), uri: TEST_URI, create: true });
  t.after(() => calendar.close());
  return calendar;
}

/**
 * A real calendar whose answers the test releases: an upstream still in its own round, on cue (a real
 * upstream's round ends on its own timer). `open()` releases every held round and holds no more.
 */
function heldCalendar(calendar: Calendar) {
  const held: (() => void)[] = [];
  let holding = true;
  return {
    /** Tips the aggregator sent, one per round. */
    tips: [] as Uint8Array[],
    async commit(tip: Uint8Array): Promise<Timestamp> {
      this.tips.push(tip);
      if (holding) await new Promise<void>((resolve) => held.push(resolve));
      return calendar.commit(tip);
    },
    release(): void {
      for (const resolve of held.splice(0)) resolve();
    },
    open(): void {
      holding = false;
      this.release();
    },
  };
}

/**
 * Longer than an early close gathers: its timer, armed before this one, has fired (and started its
 * round) when this resolves.
 */
const settle = () => sleep(2 * GATHER_MAX_MS);

/** The commitment an answer leads to: its round's tip, as committed by the calendar. */
function commitmentOf(d: Uint8Array, answer: Uint8Array): string {
  const [[msg]] = [...Timestamp.fromBytes(d, answer).allAttestations()] as [[Uint8Array, unknown]];
  return toHex(msg);
}

describe('rounds that close when the sink is free', () => {
  it('closes a round at once while nothing commits, with every digest that arrived together', async (t) => {
    const calendar = await openCalendar(t);
    const aggregator = new Aggregator({ sink: calendar, intervalMs: HOUR, closeWhenSinkFree: true });
    t.after(() => aggregator.stop());
    aggregator.start();
    const digests = [digest(), digest(), digest()];
    const answers = digests.map((d) => aggregator.submit(d));
    await settle();
    assert.equal(aggregator.waiting, 0, 'taken into a round without waiting for the interval');
    const commitments = (await Promise.all(answers)).map((a, i) => commitmentOf(digests[i] as Uint8Array, a));
    assert.equal(new Set(commitments).size, 1, 'one round');
    assert.equal(aggregator.stats.rounds, 1);
  });

  it('sends digests that arrive while a round commits in a second round, and the rest when the sink answers', async (t) => {
    const sink = heldCalendar(await openCalendar(t));
    const aggregator = new Aggregator({
      sink,
      intervalMs: HOUR,
      closeWhenSinkFree: true,
      maxRoundsInFlight: 4,
    });
    t.after(() => {
      sink.open();
      return aggregator.stop();
    });
    aggregator.start();
    const groups = [[digest()], [digest(), digest()], [digest(), digest()]];
    const answers: Promise<Uint8Array>[][] = [];
    for (const group of groups) {
      answers.push(group.map((d) => aggregator.submit(d)));
      await settle();
    }
    assert.equal(sink.tips.length, 2, 'a second round while the first commits, not a third');
    assert.equal(aggregator.waiting, 2);
    sink.release();
    await Promise.all([...(answers[0] ?? []), ...(answers[1] ?? [])]);
    await settle();
    assert.equal(sink.tips.length, 3, 'the next round went when the sink answered, not at the interval');
    sink.release();
    const commitments = await Promise.all(
      groups.map(async (group, g) => {
        const proofs = await Promise.all(answers[g] ?? []);
        return new Set(proofs.map((p, i) => commitmentOf(group[i] as Uint8Array, p)));
      }),
    );
    assert.deepEqual(
      commitments.map((c) => c.size),
      [1, 1, 1],
      'each group in one round',
    );
    assert.equal(new Set(commitments.flatMap((c) => [...c])).size, 3, 'three rounds');
  });

  it('still starts a round every interval while another commits', async (t) => {
    const sink = heldCalendar(await openCalendar(t));
    const aggregator = new Aggregator({
      sink,
      intervalMs: 20,
      closeWhenSinkFree: true,
      maxRoundsInFlight: 2,
    });
    t.after(() => aggregator.stop());
    aggregator.start();
    const answers = [aggregator.submit(digest())];
    await settle();
    answers.push(aggregator.submit(digest()));
    // the first round is held: only the timer can send the second digest
    await waitFor('a second round while the first is held', () =>
      sink.tips.length === 2 ? true : undefined,
    );
    sink.open();
    await Promise.all(answers);
  });

  it('keeps to the interval after a failed round, so a failing sink is not asked for every digest', async (t) => {
    // a real journal on a disk the fault injector makes full: its commits fail at once
    const files = new DiskFullFaultInjector();
    const journal = await Journal.open({ dir: tempDir(t), create: true, files });
    t.after(() => journal.close());
    let commits = 0;
    const sink = {
      commit: async (tip: Uint8Array) => {
        commits++;
        await journal.append(RecordKind.Commitment, tip);
        return new Timestamp(tip);
      },
    };
    const aggregator = new Aggregator({ sink, intervalMs: HOUR, closeWhenSinkFree: true });
    aggregator.start();
    files.fill();
    await assert.rejects(aggregator.submit(digest()), JournalUnavailableError);
    const waiting = aggregator.submit(digest());
    await settle();
    assert.equal(commits, 1, 'no early round after a failed one');
    assert.equal(aggregator.waiting, 1);
    // a stop still commits it (refused again: its client is told so)
    await aggregator.stop();
    await assert.rejects(waiting, JournalUnavailableError);
    assert.equal(commits, 2);
    files.free();
  });

  it('closes at most EARLY_ROUNDS_PER_INTERVAL early rounds an interval, however fast the sink answers', async (t) => {
    // a sink that answers at once, and one client posting its next digest as soon as it is answered:
    // without the bound, a round (a POST and a GET to every upstream) per digest
    const calendar = await openCalendar(t);
    let commits = 0;
    const sink = {
      commit: (tip: Uint8Array) => {
        commits++;
        return calendar.commit(tip);
      },
    };
    const aggregator = new Aggregator({ sink, intervalMs: HOUR, closeWhenSinkFree: true });
    t.after(() => aggregator.stop());
    aggregator.start();
    for (let i = 0; i < EARLY_ROUNDS_PER_INTERVAL; i++) await aggregator.submit(digest());
    assert.equal(commits, EARLY_ROUNDS_PER_INTERVAL, 'each early');
    const next = aggregator.submit(digest());
    await settle();
    assert.equal(commits, EARLY_ROUNDS_PER_INTERVAL, 'the next waits for the interval');
    assert.equal(aggregator.waiting, 1);
    await aggregator.stop();
    await next;
  });

  it('on stop, answers every digest, those in the committing round and those waiting for the next', async (t) => {
    const sink = heldCalendar(await openCalendar(t));
    const aggregator = new Aggregator({ sink, intervalMs: HOUR, closeWhenSinkFree: true });
    aggregator.start();
    const digests = [digest()];
    const answers = [aggregator.submit(digests[0] as Uint8Array)];
    await settle();
    for (const d of [digest(), digest()]) {
      digests.push(d);
      answers.push(aggregator.submit(d));
    }
    await settle();
    assert.equal(aggregator.waiting, 2);
    const stopped = aggregator.stop();
    await assert.rejects(aggregator.submit(digest()), AggregatorClosedError);
    sink.open();
    await stopped;
    for (const [i, proof] of (await Promise.all(answers)).entries()) {
      assert.ok(commitmentOf(digests[i] as Uint8Array, proof), `digest ${i} has its proof`);
    }
    assert.equal(aggregator.stats.digests, 3);
    assert.equal(aggregator.stats.rounds, 2);
  });
});
