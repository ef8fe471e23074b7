/**
 * What a stamping transaction may pay: the first fee rate, each replacement's higher rate, and the
 * caps on any version (fee rate, fee per transaction, fees committed to per day of blocks). Pure: the
 * stamper brings the node's estimate and the fees already spent, from the journal.
 * @module
 */
export interface FeePolicy {
  /** sat/vB for a first version when the node has no estimate (regtest never has one). */
  feeRate: number;
  /** Each replacement pays at least this factor more per vbyte... */
  bumpFactor: number;
  /** ...and at least this many sat/vB more (the node's incremental relay fee). */
  minBump: number;
  maxFeeRate: number;
  /** Satoshis. */
  maxFeePerTx: number;
  /** Satoshis of fees committed to by transactions built in the last 144 blocks (a day of blocks). */
  maxSpendPerDay: number;
}

export const DEFAULT_FEE_POLICY: FeePolicy = {
  feeRate: 2,
  bumpFactor: 1.25,
  minBump: 1,
  maxFeeRate: 200,
  maxFeePerTx: 100_000,
  maxSpendPerDay: 1_000_000,
};

/** The window of the daily spend cap. */
export const BLOCKS_PER_DAY = 144;

/** The first height of the day of blocks ending at `tipHeight`. */
export function dayStart(tipHeight: number): number {
  return tipHeight - BLOCKS_PER_DAY + 1;
}

/** The fee rate of a first version: the node's estimate, or the policy's rate, never over the cap. */
export function firstFeeRate(policy: FeePolicy, estimate: number | undefined): number {
  return Math.min(policy.maxFeeRate, estimate ?? policy.feeRate);
}

/**
 * The fee rate of the replacement of a version paying `previous`: the larger of the factor and the
 * minimum step, within the cap; undefined when the cap leaves no room above `previous`.
 */
export function bumpedFeeRate(policy: FeePolicy, previous: number): number | undefined {
  const rate = Math.min(policy.maxFeeRate, Math.max(previous * policy.bumpFactor, previous + policy.minBump));
  return rate > previous ? rate : undefined;
}

/**
 * Why a version paying `fee` may not be sent, or undefined when every cap allows it. `spentToday` is
 * what the journal's versions built in the day's window commit to; a replacement adds only what it
 * pays over `previousFee`, the fee of the version it replaces.
 */
export function capExceeded(
  policy: FeePolicy,
  fee: number,
  spending: { spentToday: number; previousFee: number },
): string | undefined {
  if (fee > policy.maxFeePerTx)
    return `a fee of ${fee} sat is over the per-transaction cap of ${policy.maxFeePerTx} sat`;
  if (spending.spentToday + fee - spending.previousFee > policy.maxSpendPerDay)
    return `a fee of ${fee} sat would pass the daily spend cap of ${policy.maxSpendPerDay} sat`;
  return undefined;
}
