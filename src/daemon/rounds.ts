/** The round settings every node that aggregates shares, and the aggregator made from them. */
import type { Logger } from 'pino';
import { Aggregator } from '../aggregator/aggregator.js';
import type { RoundSink } from '../aggregator/round-sink.js';

export interface RoundOptions {
  roundIntervalMs?: number;
  maxDigestsPerRound?: number;
  maxWaitingDigests?: number;
}

export function createAggregator(sink: RoundSink, options: RoundOptions, log: Logger): Aggregator {
  return new Aggregator({
    sink,
    log,
    ...(options.roundIntervalMs !== undefined && { intervalMs: options.roundIntervalMs }),
    ...(options.maxDigestsPerRound !== undefined && { maxDigestsPerRound: options.maxDigestsPerRound }),
    ...(options.maxWaitingDigests !== undefined && { maxWaiting: options.maxWaitingDigests }),
  });
}
