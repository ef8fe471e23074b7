/**
 * Where a round's merkle tip goes: the local calendar, or (for a stand-alone aggregator) upstream
 * calendars. The sink answers with the timestamp of the tip that every client of the round receives.
 * @module
 */
import type { Timestamp } from '../ots/index.js';

export interface RoundSink {
  /** Commits `tip`; resolves once it is durable, with a timestamp whose message is `tip`. */
  commit(tip: Uint8Array): Promise<Timestamp>;
}
