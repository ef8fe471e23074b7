/** The round settings every node that aggregates shares, and the aggregators made from them. */
import type { Logger } from 'pino';
import { Aggregator, DEFAULT_ROUND_INTERVAL_MS } from '../aggregator/aggregator.js';
import type { RoundSink } from '../aggregator/round-sink.js';
import { UpstreamSink, type UpstreamSinkOptions } from '../aggregator/upstream-sink.js';

export interface RoundOptions {
  roundIntervalMs?: number;
  maxDigestsPerRound?: number;
  maxWaitingDigests?: number;
}

/**
 * Aggregation in front of remote calendars (a stand-alone aggregator, a mirror that aggregates): a
 * round is sent as soon as the upstreams have answered the last one (group commit), and with enough
 * rounds in flight that one still starts every interval while earlier ones wait (at most the timeout)
 * for the upstreams.
 */
export function createUpstreamAggregator(
  upstreams: Omit<UpstreamSinkOptions, 'log'>,
  options: RoundOptions,
  log: Logger,
): { sink: UpstreamSink; aggregator: Aggregator } {
  const intervalMs = options.roundIntervalMs ?? DEFAULT_ROUND_INTERVAL_MS;
  // early rounds may go faster than the interval: a failing upstream is still tried once an interval
  const sink = new UpstreamSink({ retryFailingMs: intervalMs, ...upstreams, log });
  const roundsInFlight = Math.ceil(upstreams.timeoutMs / intervalMs) + 1;
  return {
    sink,
    aggregator: createAggregator(sink, options, log, Math.min(64, roundsInFlight), true),
  };
}

export function createAggregator(
  sink: RoundSink,
  options: RoundOptions,
  log: Logger,
  maxRoundsInFlight = 1,
  closeWhenSinkFree = false,
): Aggregator {
  return new Aggregator({
    sink,
    log,
    maxRoundsInFlight,
    closeWhenSinkFree,
    ...(options.roundIntervalMs !== undefined && { intervalMs: options.roundIntervalMs }),
    ...(options.maxDigestsPerRound !== undefined && { maxDigestsPerRound: options.maxDigestsPerRound }),
    ...(options.maxWaitingDigests !== undefined && { maxWaiting: options.maxWaitingDigests }),
  });
}
