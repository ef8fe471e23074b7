/**
 * The mirror role: follows an upstream calendar's journal into the local calendar (verified, see
 * JournalFollower) for as long as it runs, logging its progress. On an integrity failure it stops
 * following and keeps serving what it verified.
 * @module
 */
import type { Calendar } from '../calendar/calendar.js';
import { type HeaderCheck, NotYetConfirmedError } from './header-check.js';
import { MirrorIntegrityError } from './integrity-error.js';
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
}

export interface MirrorProgress {
  local: number;
  upstream: number;
  recordsPerSecond: number;
  etaSeconds: number | undefined;
}

export interface MirrorStatus {
  upstream: string;
  localRecords: number;
  upstreamRecords: number | undefined;
  /** Records the mirror is behind, as of the last upstream head it saw. */
  lagRecords: number | undefined;
  lastSyncAgeSeconds: number | undefined;
  /** Set when the mirror stopped following because the upstream did not check out. */
  integrityError: string | undefined;
}

export class Mirror {
  private readonly o: MirrorOptions;
  private readonly follower: JournalFollower;
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;
  private integrityError: string | undefined;
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
      .run(this.abort.signal, (e) =>
        this.o.log.warn(
          { upstream: this.o.upstream, error: e.message },
          e instanceof NotYetConfirmedError
            ? 'mirror: a Bitcoin attestation cannot be confirmed yet; retrying'
            : 'mirror: upstream unreachable; retrying',
        ),
      )
      .catch((e: unknown) => {
        if (e instanceof MirrorIntegrityError) {
          this.integrityError = e.message;
          this.o.log.error(
            { upstream: this.o.upstream, error: e.message },
            'mirror: stopped following: the upstream does not check out',
          );
          return;
        }
        throw e;
      });
  }

  /** Syncs up to the upstream's current head once (for tests and one-shot copies). */
  syncOnce(): Promise<number> {
    return this.follower.syncOnce();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
  }

  status(): MirrorStatus {
    const local = this.o.calendar.journal.head.records;
    const upstream = this.follower.lastUpstreamHead?.records;
    return {
      upstream: this.o.upstream,
      localRecords: local,
      upstreamRecords: upstream,
      lagRecords: upstream === undefined ? undefined : Math.max(0, upstream - local),
      lastSyncAgeSeconds:
        this.follower.lastSyncAt === undefined
          ? undefined
          : Math.floor((Date.now() - this.follower.lastSyncAt) / 1000),
      integrityError: this.integrityError,
    };
  }
}
