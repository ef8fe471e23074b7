/**
 * The mirror role: follows an upstream calendar's journal into the local calendar (verified, see
 * JournalFollower) for as long as it runs, logging its progress. Data that does not check out is
 * refused, counted and asked for again with backoff, and following resumes once the upstream serves
 * honest data; a fork (a history that contradicts the records verified) stops it for good. It keeps
 * serving what it verified throughout.
 * @module
 */
import type { Calendar } from '../calendar/calendar.js';
import { type HeaderCheck, NotYetConfirmedError } from './header-check.js';
import { MirrorForkError, MirrorIntegrityError } from './integrity-error.js';
import { JournalFollower } from './journal-follower.js';

export interface MirrorOptions {
  upstream: string;
  calendar: Calendar;
  /** How Bitcoin attestations are checked (insecureNoHeaderCheck skips them). */
  checkHeader: HeaderCheck;
  log: {
    info(obj: object, msg: string): void;
    warn(obj: object, msg: string): void;
    error(obj: object, msg: string): void;
  };
  waitSeconds?: number;
  /** Called as the download goes, e.g. to draw a progress bar on a terminal. */
  onProgress?: (progress: MirrorProgress) => void;
  /** Called for each refusal of the upstream's data. */
  onRefusal?: () => void;
}

export interface MirrorProgress {
  local: number;
  upstream: number;
  recordsPerSecond: number;
  etaSeconds: number | undefined;
}

/**
 * following; retrying after refusing the upstream's data or failing to reach it; waiting for an
 * attestation to be confirmed; stopped for good by a fork.
 */
export const MIRROR_STATES = ['following', 'refusing', 'unreachable', 'waiting', 'stopped'] as const;

export interface MirrorStatus {
  upstream: string;
  localRecords: number;
  upstreamRecords: number | undefined;
  /**
   * Records the mirror is behind, as of the last upstream head it saw; unknown before the first, and
   * while the upstream cannot be reached (it may have written any number since).
   */
  lagRecords: number | undefined;
  lastSyncAgeSeconds: number | undefined;
  state: (typeof MIRROR_STATES)[number];
  /** Times the upstream's data was refused since start (each retried). */
  refusals: number;
  /** The last refusal: why, and how long ago. */
  lastRefusal: { reason: string; ageSeconds: number } | undefined;
  /** Why the upstream could not be reached, while it cannot. */
  unreachable: string | undefined;
  /** What the mirror waits for: a Bitcoin attestation that cannot be confirmed yet (too few blocks on it). */
  waiting: string | undefined;
  /** Set when the mirror stopped following for good: the upstream's history forks from the one verified. */
  fork: string | undefined;
}

/** A failed attempt to follow: its kind and reason, and when. */
interface Problem {
  kind: 'refusing' | 'unreachable' | 'waiting';
  reason: string;
  at: number;
}

export class Mirror {
  private readonly o: MirrorOptions;
  private readonly follower: JournalFollower;
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;
  private fork: string | undefined;
  private refusals = 0;
  private lastRefusal: Problem | undefined;
  private lastProblem: Problem | undefined;
  private lastProgressLog = 0;

  constructor(options: MirrorOptions) {
    this.o = options;
    const started = Date.now();
    const firstLocal = options.calendar.journal.head.records;
    this.follower = new JournalFollower({
      upstream: options.upstream,
      calendar: options.calendar,
      checkHeader: options.checkHeader,
      ...(options.waitSeconds !== undefined && { waitSeconds: options.waitSeconds }),
      onCheckThreadFailure: (e) =>
        options.log.warn(
          { upstream: options.upstream, err: e },
          'mirror: the thread checking chunks ahead failed; this sync checks the rest itself',
        ),
      onProgress: ({ local, upstream }) => {
        const rate = (local - firstLocal) / Math.max(0.001, (Date.now() - started) / 1000);
        const eta = rate > 0 ? Math.round((upstream - local) / rate) : undefined;
        options.onProgress?.({ local, upstream, recordsPerSecond: Math.round(rate), etaSeconds: eta });
        if (Date.now() - this.lastProgressLog < 5000 && local < upstream) return;
        this.lastProgressLog = Date.now();
        options.log.info(
          { local, upstream, recordsPerSecond: Math.round(rate), etaSeconds: eta },
          'mirror: syncing',
        );
      },
    });
  }

  start(): void {
    this.running = this.follower
      .run(this.abort.signal, (e, retryMs) => this.failed(e, retryMs))
      .catch((e: unknown) => {
        if (e instanceof MirrorForkError) {
          this.fork = e.message;
          this.o.log.error(
            { upstream: this.o.upstream, error: e.message },
            'mirror: stopped following for good: the upstream forked from the history mirrored (it still serves what it verified)',
          );
          return;
        }
        throw e;
      });
  }

  private failed(e: Error, retryMs: number): void {
    const problem: Problem = {
      kind:
        e instanceof MirrorIntegrityError
          ? 'refusing'
          : e instanceof NotYetConfirmedError
            ? 'waiting'
            : 'unreachable',
      reason: e.message,
      at: Date.now(),
    };
    this.lastProblem = problem;
    const fields = { upstream: this.o.upstream, error: e.message, retryInSeconds: retryMs / 1000 };
    if (problem.kind === 'unreachable') {
      this.o.log.warn(fields, 'mirror: upstream unreachable; retrying');
      return;
    }
    if (problem.kind === 'waiting') {
      this.o.log.warn(fields, 'mirror: a Bitcoin attestation cannot be confirmed yet; retrying');
      return;
    }
    this.refusals++;
    this.lastRefusal = problem;
    this.o.onRefusal?.();
    this.o.log.warn(
      { ...fields, refusals: this.refusals },
      "mirror: refused the upstream's data (it does not check out); retrying",
    );
  }

  /** Syncs up to the upstream's current head once (for tests and one-shot copies). */
  syncOnce(): Promise<number> {
    return this.follower.syncOnce();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
    this.follower.close();
  }

  status(): MirrorStatus {
    const local = this.o.calendar.journal.head.records;
    const upstream = this.follower.lastUpstreamHead?.records;
    const now = Date.now();
    // a problem is current until an attempt after it succeeds
    const problem =
      this.lastProblem && this.lastProblem.at >= (this.follower.lastSyncAt ?? 0)
        ? this.lastProblem
        : undefined;
    return {
      upstream: this.o.upstream,
      localRecords: local,
      upstreamRecords: upstream,
      lagRecords:
        upstream === undefined || problem?.kind === 'unreachable' ? undefined : Math.max(0, upstream - local),
      lastSyncAgeSeconds:
        this.follower.lastSyncAt === undefined
          ? undefined
          : Math.floor((now - this.follower.lastSyncAt) / 1000),
      state: this.fork ? 'stopped' : (problem?.kind ?? 'following'),
      refusals: this.refusals,
      lastRefusal: this.lastRefusal && {
        reason: this.lastRefusal.reason,
        ageSeconds: Math.floor((now - this.lastRefusal.at) / 1000),
      },
      unreachable: !this.fork && problem?.kind === 'unreachable' ? problem.reason : undefined,
      waiting: !this.fork && problem?.kind === 'waiting' ? problem.reason : undefined,
      fork: this.fork,
    };
  }
}
