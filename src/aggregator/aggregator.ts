/**
 * Aggregation rounds, as the reference calendar runs them: each digest is given a fresh 16-byte random
 * nonce (leaf = sha256(digest ‖ nonce), made as it arrives: round-tree.ts); every interval a merkle
 * tree is built over the leaves that arrived, its tip goes to the sink, and each client gets its path
 * from digest to tip followed by the sink's timestamp of the tip.
 * @module
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { JournalUnavailableError } from '../journal/outage.js';
import { SummarizedLines } from '../log/summarized-lines.js';
import { MerkleTree } from '../ots/index.js';
import type { RoundSink } from './round-sink.js';
import { type Leaf, Leaves, writeAnswers } from './round-tree.js';

/** Reference limit: a digest is 0..64 bytes (the nonce makes every leaf 32 bytes). */
export const MAX_DIGEST_BYTES = 64;
/** The reference calendar's round interval. */
export const DEFAULT_ROUND_INTERVAL_MS = 1000;

/**
 * Answers given in one turn of the event loop at the end of a round. A round of thousands answered in
 * one synchronous loop held the loop for most of a second at 4,000 digests/s: no connection was
 * accepted meanwhile and the listen queue overflowed (clients retried after 1 and 3 s). In slices,
 * the loop accepts and reads between them; the first waiters, who waited longest, are answered first.
 */
const ANSWERS_PER_TURN = 256;

/**
 * An early round (closeWhenSinkFree) closes once no digest arrived for GATHER_QUIET_MS, and at most
 * GATHER_MAX_MS after it began gathering. 256 closed-loop clients answered at once submit again over
 * about 12 ms on loopback, with gaps of up to 2 ms: a round closed at the first gap left the rest to
 * wait for it. Both are small next to an upstream's round (100 ms to a second).
 */
const GATHER_QUIET_MS = 3;
export const GATHER_MAX_MS = 20;

/**
 * Most rounds committing at once for a round to close early. With one, digests arriving just after a
 * round closed (a burst's stragglers, a second group of clients) waited a whole upstream round for it
 * and then another for their own; a second round takes them to the same upstream round.
 */
const EARLY_ROUNDS = 2;

/**
 * Most early rounds between two ticks of the interval. Each round is a POST and a checking GET to
 * every upstream: without a bound, one client posting its next digest as soon as it is answered, in
 * front of an upstream that answers at once, made a round per digest (hundreds a second). With it an
 * upstream gets at most this many rounds more per interval than the interval alone sends; a closed
 * loop through an aggregator in front of a calendar of the same interval uses one or two.
 */
export const EARLY_ROUNDS_PER_INTERVAL = 8;

export interface AggregatorOptions {
  sink: RoundSink;
  /**
   * Time between rounds; the reference's is one second. With `closeWhenSinkFree`, the longest time
   * between rounds: a round may close sooner.
   */
  intervalMs?: number;
  /** Most digests in one round; the rest wait for the next. */
  maxDigestsPerRound?: number;
  /**
   * Most digests not answered yet (waiting for a round, or in one); past it, submit refuses with
   * AggregatorOverloadedError.
   */
  maxWaiting?: number;
  /**
   * Rounds committing at once. 1 suits a local calendar (a round takes a millisecond); a sink whose
   * commit waits on a remote calendar's own round does better with more, so that rounds keep their
   * interval instead of adding the remote's latency to it.
   */
  maxRoundsInFlight?: number;
  /**
   * Group commit, for a sink that waits on a remote calendar's own round: digests do not wait for the
   * timer while the sink is free; a round closes as soon as the digests that arrived together have
   * arrived. Digests that arrive while a round waits upstream go in a second round, and past that
   * together in the next, sent the moment the upstream answers (or at the next tick). A client waits
   * about one upstream round instead of an interval here plus the upstream's round. After a failed
   * round, rounds keep to the interval until one succeeds. A local calendar keeps the fixed interval,
   * which is what batches its journal writes.
   */
  closeWhenSinkFree?: boolean;
  /** pino-compatible */
  log?: { info(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

/** Too many digests are waiting: the caller should answer 503 with Retry-After. */
export class AggregatorOverloadedError extends Error {
  override name = 'AggregatorOverloadedError';
}

/** The aggregator is stopping or stopped and takes no more digests. */
export class AggregatorClosedError extends Error {
  override name = 'AggregatorClosedError';
}

/**
 * Told what became of a digest submitted (submitTo): once, and synchronously from the round's answering
 * loop, so it must not throw (one that does is logged, and the round's other digests are still told).
 * The HTTP request's own account is one (fast-path.ts): a promise per digest, with the reactions and
 * closures a waiting client held for its whole round, was some 480 of the 7,300 bytes of heap each
 * waiting digest kept (heap snapshots of 2,000 waiting).
 */
export interface DigestReceiver {
  /** The serialized timestamp, the round being durable. */
  answered(timestamp: Uint8Array): void;
  /** Why the digest has none (AggregatorOverloadedError, AggregatorClosedError, the sink's error). */
  failed(error: Error): void;
}

interface Waiting {
  leaf: Leaf;
  receiver: DigestReceiver;
}

export interface RoundStats {
  rounds: number;
  digests: number;
}

export class Aggregator {
  private readonly sink: RoundSink;
  readonly intervalMs: number;
  private maxDigestsPerRound: number;
  private maxWaiting: number;
  private readonly log: NonNullable<AggregatorOptions['log']> | undefined;
  private queue: Waiting[] = [];
  private readonly leaves = new Leaves();
  private timer: NodeJS.Timeout | undefined;
  /** When the timer's tick is due (performance.now()). */
  private tickDue: number | undefined;
  private readonly rounds = new Set<Promise<void>>();
  private readonly maxRoundsInFlight: number;
  private readonly closeWhenSinkFree: boolean;
  /** Digests taken out of the queue by rounds still committing. */
  private inRounds = 0;
  /** Rounds waiting for the sink (not yet answering their clients). */
  private committing = 0;
  /** An early close is reading the digests that arrive together before it takes them. */
  private gathering = false;
  /** Early rounds this interval may still close (EARLY_ROUNDS_PER_INTERVAL at each tick). */
  private earlyRoundsLeft = EARLY_ROUNDS_PER_INTERVAL;
  /**
   * The last round failed: rounds keep to the interval until one succeeds, so that a sink that fails
   * at once (an upstream answering 500) is not asked again for every digest that arrives.
   */
  private sinkFailing = false;
  /** Rounds refused while the journal waits out a full disk: a line per interval, not per round. */
  private readonly refusedRounds: SummarizedLines;
  private stopping = false;
  /** Totals since start, for the status page and metrics. */
  readonly stats: RoundStats = { rounds: 0, digests: 0 };
  private readonly listeners: ((digests: number) => void)[] = [];

  constructor(options: AggregatorOptions) {
    this.sink = options.sink;
    this.intervalMs = options.intervalMs ?? DEFAULT_ROUND_INTERVAL_MS;
    this.maxDigestsPerRound = options.maxDigestsPerRound ?? 100_000;
    this.maxWaiting = options.maxWaiting ?? 200_000;
    this.maxRoundsInFlight = options.maxRoundsInFlight ?? 1;
    this.closeWhenSinkFree = options.closeWhenSinkFree ?? false;
    this.log = options.log;
    this.refusedRounds = new SummarizedLines();
  }

  /** Changes the caps while running (SIGHUP); digests already waiting stay. */
  setLimits(limits: { maxDigestsPerRound?: number; maxWaiting?: number }): void {
    this.maxDigestsPerRound = limits.maxDigestsPerRound ?? this.maxDigestsPerRound;
    this.maxWaiting = limits.maxWaiting ?? this.maxWaiting;
  }

  /** Digests waiting for the next round. */
  get waiting(): number {
    return this.queue.length;
  }

  /** Digests not answered yet: waiting, or in rounds still committing. */
  get unanswered(): number {
    return this.queue.length + this.inRounds;
  }

  /** Called after each committed round with its digest count. */
  onRound(listener: (digests: number) => void): void {
    this.listeners.push(listener);
  }

  start(): void {
    this.schedule();
  }

  /**
   * Resolves, after the round that takes `digest` is durable, with the serialized timestamp from the
   * digest to the sink's attestation (a bare tree whose root message is the digest). `digest` is read
   * at once (its leaf is made now), not kept.
   */
  submit(digest: Uint8Array): Promise<Uint8Array> {
    checkLength(digest);
    return new Promise((resolve, reject) => this.submitTo(digest, { answered: resolve, failed: reject }));
  }

  /** As submit, the outcome told to `receiver` (at once when the digest is refused). */
  submitTo(digest: Uint8Array, receiver: DigestReceiver): void {
    checkLength(digest);
    if (this.stopping) receiver.failed(new AggregatorClosedError('aggregator is shutting down'));
    else if (this.unanswered >= this.maxWaiting)
      receiver.failed(new AggregatorOverloadedError(`${this.unanswered} digests already unanswered`));
    else {
      this.queue.push({ leaf: this.leaves.leafOf(digest), receiver });
      this.closeEarly();
    }
  }

  /**
   * The next tick, an interval after the last was due: not an interval after the last ran, nor after
   * its round's tree was built, which made every round, and the wait of a digest that just missed one,
   * longer by both. A tick a whole interval late does not bring the next one at once.
   */
  private schedule(): void {
    if (this.stopping) return;
    const now = performance.now();
    const due = (this.tickDue ?? now) + this.intervalMs;
    this.tickDue = due > now ? due : now + this.intervalMs;
    this.timer = setTimeout(() => {
      this.earlyRoundsLeft = EARLY_ROUNDS_PER_INTERVAL;
      this.schedule();
      this.startRound();
    }, this.tickDue - now);
  }

  /** A round of what waits, unless every round slot is taken: then its digests go in the next round. */
  private startRound(): void {
    if (this.rounds.size >= this.maxRoundsInFlight) return;
    const round: Promise<void> = this.runRound().finally(() => {
      this.rounds.delete(round);
      // a slot is free: digests that arrived while every slot was taken need not wait for the timer
      this.closeEarly();
    });
    this.rounds.add(round);
  }

  /**
   * With `closeWhenSinkFree`, while fewer than EARLY_ROUNDS rounds are committing, the last did not
   * fail and this interval has early rounds left (EARLY_ROUNDS_PER_INTERVAL): a round of what waits, once the digests that arrive together have arrived (none for
   * GATHER_QUIET_MS, or GATHER_MAX_MS after the first), or once the round is full. Clients answered
   * together submit again together, and a round of the first few alone would make the rest wait for it.
   */
  private closeEarly(): void {
    if (!this.closeWhenSinkFree || this.sinkFailing || this.gathering) return;
    if (this.committing >= EARLY_ROUNDS || this.earlyRoundsLeft === 0) return;
    if (this.queue.length === 0) return;
    this.gathering = true;
    const started = performance.now();
    let read = this.queue.length;
    const gather = () => {
      const more = this.queue.length > read;
      read = this.queue.length;
      const full = read >= this.maxDigestsPerRound;
      if (more && !full && performance.now() - started < GATHER_MAX_MS) {
        setTimeout(gather, GATHER_QUIET_MS);
        return;
      }
      this.gathering = false;
      // a stop commits what waits itself; rounds the timer started meanwhile may fill the early slots
      if (!this.stopping && this.committing < EARLY_ROUNDS && this.earlyRoundsLeft > 0) {
        this.earlyRoundsLeft--;
        this.startRound();
      }
    };
    if (read >= this.maxDigestsPerRound) gather();
    else setTimeout(gather, GATHER_QUIET_MS);
  }

  private async runRound(): Promise<void> {
    if (this.queue.length === 0) return;
    const round = this.queue.splice(0, this.maxDigestsPerRound);
    this.inRounds += round.length;
    try {
      await this.commitRound(round);
    } finally {
      this.inRounds -= round.length;
    }
  }

  /** The sink's timestamp of `tip`, counted as committing while it is awaited. */
  private async commitTip(tip: Uint8Array): Promise<Uint8Array> {
    this.committing++;
    try {
      const timestamp = await this.sink.commit(tip);
      this.sinkFailing = false;
      return timestamp.toBytes();
    } catch (e) {
      this.sinkFailing = true;
      throw e;
    } finally {
      this.committing--;
      // digests that arrived meanwhile need not wait for the timer
      this.closeEarly();
    }
  }

  private async commitRound(round: Waiting[]): Promise<void> {
    const leaves = round.map((w) => w.leaf);
    const tree = new MerkleTree(leaves.map((leaf) => leaf.hash));
    let tipBytes: Uint8Array;
    try {
      tipBytes = await this.commitTip(tree.root);
    } catch (e) {
      this.logRoundFailure(e, round.length);
      for (const w of round) {
        try {
          w.receiver.failed(e as Error);
        } catch (thrown) {
          this.receiverThrew(thrown);
        }
      }
      return;
    }
    this.stats.rounds++;
    this.stats.digests += round.length;
    for (const listener of this.listeners) listener(round.length);
    for (let first = 0; first < round.length; first += ANSWERS_PER_TURN) {
      if (first > 0) await nextTurn();
      const end = Math.min(round.length, first + ANSWERS_PER_TURN);
      const answers = writeAnswers(tree, leaves, tipBytes, first, end);
      for (let i = first; i < end; i++) {
        try {
          (round[i] as Waiting).receiver.answered(answers[i - first] as Uint8Array);
        } catch (thrown) {
          this.receiverThrew(thrown);
        }
      }
    }
  }

  /** A receiver broke its contract (a bug): logged, and the round's other digests are still answered. */
  private receiverThrew(e: unknown): void {
    this.log?.error({ err: e }, 'aggregator: a digest could not be told its outcome');
  }

  /**
   * A round the journal refused while it waits out a full or failing disk (expected, and reported by
   * the journal, the status page and the metrics): the first of an interval logged with its reason,
   * the rest counted. Any other failure is logged each time with its stack.
   */
  private logRoundFailure(e: unknown, digests: number): void {
    if (!(e instanceof JournalUnavailableError)) {
      this.log?.error({ err: e, digests }, 'aggregator: round could not be committed');
      return;
    }
    const message = 'aggregator: round could not be committed (the journal cannot write)';
    this.refusedRounds.record(
      'journal unavailable',
      () => this.log?.error({ cause: e.message, digests, count: 1 }, message),
      (count, seconds) =>
        this.log?.error({ count, seconds }, `${message} (${count} more since the last line)`),
    );
  }

  /**
   * Stops taking digests, commits every digest already waiting (in as many rounds as it takes) and
   * answers them, then resolves.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    await Promise.all(this.rounds);
    while (this.queue.length > 0) await this.runRound();
    this.refusedRounds.flush();
  }
}

/** A digest longer than MAX_DIGEST_BYTES is the caller's bug (HTTP refuses it before): thrown. */
function checkLength(digest: Uint8Array): void {
  if (digest.byteLength > MAX_DIGEST_BYTES)
    throw new RangeError(`digest too long: ${digest.byteLength} > ${MAX_DIGEST_BYTES}`);
}
