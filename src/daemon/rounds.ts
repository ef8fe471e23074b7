/** The round settings every node that aggregates shares, and the aggregator made from them. */
import type { Logger } from 'pino';
import { Aggregator } from '../aggregator/aggregator.js';
import type { RoundSink } from '../aggregator/round-sink.js';

export interface RoundOptions {
  roundIntervalMs?: number;
  maxDigestsPerRound?: number;
  maxWaitingDigests?: number;
}

/**
 * Aggregation in front of remote calendars: enough rounds in flight that a new one starts every
 * interval even while earlier ones wait (at most the timeout) for the upstreams.
 */
export function upstreamRounds(upstreamTimeoutMs: number, options: RoundOptions): number {
  return Math.min(64, Math.ceil(upstreamTimeoutMs / (options.roundIntervalMs ?? 1000)) + 1);
}

export function createAggregator(
  sink: RoundSink,
  options: RoundOptions,
  log: Logger,
  maxRoundsInFlight = 1,
): Aggregator {
  return new Aggregator({
    sink,
    log,
    maxRoundsInFlight,
    ...(options.roundIntervalMs !== undefined && { intervalMs: options.roundIntervalMs }),
    ...(options.maxDigestsPerRound !== undefined && { maxDigestsPerRound: options.maxDigestsPerRound }),
    ...(options.maxWaitingDigests !== undefined && { maxWaiting: options.maxWaitingDigests }),
  });
}
