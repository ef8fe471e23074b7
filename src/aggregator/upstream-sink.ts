/**
 * The round sink of a stand-alone aggregator (and of a mirror that aggregates): each round's tip is
 * POSTed to every upstream calendar in parallel, each answer is checked, and the good ones are merged
 * into one timestamp of the tip, as a client stamping against several calendars would merge them.
 * @module
 */
import { Timestamp, toHex } from '../ots/index.js';
import {
  isCalendarUrl,
  MAX_TIP_TIMESTAMP_BYTES,
  publicReason,
  RemoteCalendar,
} from '../remote/calendar-client.js';
import type { RoundSink } from './round-sink.js';

/** Consecutive failed rounds after which rounds stop waiting for an upstream (while another is healthy). */
export const FAILING_AFTER = 3;

/** No upstream took the round: its clients must be told to retry (their digests are in no proof). */
export class NoUpstreamAnsweredError extends Error {
  override name = 'NoUpstreamAnsweredError';
}

export interface UpstreamHealth {
  url: string;
  /** Rounds offered to this upstream since start, and how many it did not take. */
  rounds: number;
  failures: number;
  /** Failures since the last success. */
  consecutiveFailures: number;
  /** Time of the last exchange (POST and check), successful or not. */
  lastLatencyMs?: number;
  lastSuccessAt?: number;
  lastError?: string;
}

export interface UpstreamSinkOptions {
  upstreams: string[];
  /** Longest wait for one upstream's answer and its check; past it the upstream is left out. */
  timeoutMs: number;
  /**
   * While another upstream is healthy, a failing one is asked at most once per this many ms (the round
   * interval): rounds may go faster than the interval (an aggregator's early rounds), a dead upstream
   * need not be tried, nor logged, for each. Every round by default.
   */
  retryFailingMs?: number;
  userAgent?: string;
  /** Told of each exchange, for metrics. */
  onExchange?: (url: string, outcome: 'ok' | 'failed', seconds: number) => void;
  log?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

interface Upstream {
  client: RemoteCalendar;
  health: UpstreamHealth;
  /** When it was last asked (performance.now()). */
  askedAt?: number;
}

export class UpstreamSink implements RoundSink {
  private readonly upstreams: Upstream[];
  private readonly options: UpstreamSinkOptions;

  constructor(options: UpstreamSinkOptions) {
    if (options.upstreams.length === 0) throw new RangeError('an aggregator needs at least one upstream');
    this.options = options;
    this.upstreams = options.upstreams.map((url) => {
      if (!isCalendarUrl(url)) throw new RangeError(`upstream ${JSON.stringify(url)} is not an http(s) URL`);
      const client = new RemoteCalendar(url, {
        timeoutMs: options.timeoutMs,
        userAgent: options.userAgent ?? 'otsd-aggregator',
      });
      return { client, health: { url: client.url, rounds: 0, failures: 0, consecutiveFailures: 0 } };
    });
  }

  health(): UpstreamHealth[] {
    return this.upstreams.map((u) => ({ ...u.health }));
  }

  async commit(tip: Uint8Array): Promise<Timestamp> {
    const answers = await this.collect(tip);
    let merged: Timestamp | undefined;
    const reasons: string[] = [];
    for (const [i, answer] of answers.entries()) {
      const url = (this.upstreams[i] as Upstream).health.url;
      if (answer === undefined) {
        reasons.push(`${url}: failing, and no answer before the others`);
        continue;
      }
      if (typeof answer === 'string') {
        reasons.push(`${url}: ${answer}`);
        continue;
      }
      const candidate = new Timestamp(tip);
      if (merged) candidate.merge(merged);
      candidate.merge(answer);
      if (candidate.toBytes().byteLength > MAX_TIP_TIMESTAMP_BYTES) {
        reasons.push(`${url}: answer does not fit in the client's read limit`);
        this.options.log?.warn(
          { upstream: url, tip: toHex(tip) },
          'aggregator: answer left out, the merged timestamp would be too large',
        );
        continue;
      }
      merged = candidate;
    }
    if (!merged) throw new NoUpstreamAnsweredError(`no upstream took the round: ${reasons.join('; ')}`);
    return merged;
  }

  /**
   * Every upstream's answer, or why there is none, or undefined for a failing upstream that had not
   * answered yet (or was not asked). The round waits for the upstreams that took the last rounds (at
   * most the timeout); one that failed its last FAILING_AFTER rounds is still asked (at most once per
   * `retryFailingMs`), but not waited for while another is healthy, so a dead upstream does not add its
   * timeout to every round. Once it answers again (even too late for its round), rounds wait for it
   * again. With no healthy upstream, every one is asked and waited for.
   */
  private async collect(tip: Uint8Array): Promise<(Timestamp | string | undefined)[]> {
    const results: (Timestamp | string | undefined)[] = this.upstreams.map(() => undefined);
    const isHealthy = (u: Upstream) => u.health.consecutiveFailures < FAILING_AFTER;
    const anyHealthy = this.upstreams.some(isHealthy);
    const now = performance.now();
    const retryMs = this.options.retryFailingMs ?? 0;
    const healthy: Promise<void>[] = [];
    const all: Promise<void>[] = [];
    for (const [i, u] of this.upstreams.entries()) {
      if (anyHealthy && !isHealthy(u) && u.askedAt !== undefined && now - u.askedAt < retryMs) continue;
      u.askedAt = now;
      const exchange = this.exchange(u, tip).then((answer) => {
        results[i] = answer;
      });
      all.push(exchange);
      if (isHealthy(u)) healthy.push(exchange);
    }
    await Promise.all(anyHealthy ? healthy : all);
    return results;
  }

  /** The upstream's checked answer, or why there is none; never throws and never outlives the timeout. */
  private async exchange(upstream: Upstream, tip: Uint8Array): Promise<Timestamp | string> {
    const started = performance.now();
    const signal = AbortSignal.timeout(this.options.timeoutMs);
    const health = upstream.health;
    health.rounds++;
    try {
      const { timestamp: answer } = await upstream.client.submitChecked(tip, { signal });
      const seconds = (performance.now() - started) / 1000;
      if (health.consecutiveFailures > 0) {
        this.options.log?.info(
          { upstream: health.url, failedRounds: health.consecutiveFailures },
          'aggregator: upstream takes rounds again',
        );
      }
      health.lastLatencyMs = Math.round(seconds * 1000);
      health.lastSuccessAt = Date.now();
      health.consecutiveFailures = 0;
      this.options.onExchange?.(health.url, 'ok', seconds);
      return answer;
    } catch (e) {
      const seconds = (performance.now() - started) / 1000;
      const reason = signal.aborted ? `no answer within ${this.options.timeoutMs} ms` : (e as Error).message;
      // the status page shows `shown`: the upstream's own text stays in the log
      const shown = signal.aborted ? reason : publicReason(e as Error);
      health.lastLatencyMs = Math.round(seconds * 1000);
      health.failures++;
      health.consecutiveFailures++;
      // one line when an upstream starts failing or fails differently, then one a minute of rounds
      if (shown !== health.lastError || health.consecutiveFailures % 60 === 1) {
        this.options.log?.warn(
          {
            upstream: health.url,
            tip: toHex(tip),
            reason,
            ms: health.lastLatencyMs,
            failedRounds: health.consecutiveFailures,
          },
          'aggregator: upstream left out of the round',
        );
      }
      health.lastError = shown;
      this.options.onExchange?.(health.url, 'failed', seconds);
      return reason;
    }
  }
}
