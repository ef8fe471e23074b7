/**
 * Bitcoin's header rules, as far as a mirror without a node checks them: targets from nBits, the
 * block hash under its target, the work a target stands for, the retarget every 2016 blocks (Bitcoin
 * Core's CalculateNextWorkRequired) and the header's time against the median of the 11 before it.
 * @module
 */
import { sha256d, toHex } from '../ots/index.js';

/** Blocks per retarget period. */
export const RETARGET_INTERVAL = 2016;
/** Two weeks: the time a period should take. */
const TARGET_TIMESPAN = 14 * 24 * 60 * 60;
/** Headers whose median time the next one must be after (Bitcoin Core's median time past). */
export const MEDIAN_TIME_SPAN = 11;
/** How far past the clock a header's time may be: Bitcoin Core's MAX_FUTURE_BLOCK_TIME, two hours. */
export const MAX_FUTURE_BLOCK_TIME = 2 * 60 * 60;

/** The target nBits encodes; 0 (met by no hash) for a negative one. */
export function targetFromBits(bits: number): bigint {
  if (bits & 0x00800000) return 0n;
  const exponent = bits >>> 24;
  const mantissa = BigInt(bits & 0x007fffff);
  return exponent <= 3 ? mantissa >> BigInt(8 * (3 - exponent)) : mantissa << BigInt(8 * (exponent - 3));
}

/** The nBits of a target, rounded down as Bitcoin Core's GetCompact does. */
export function bitsFromTarget(target: bigint): number {
  let size = Math.ceil(target.toString(16).length / 2);
  let mantissa = size <= 3 ? target << BigInt(8 * (3 - size)) : target >> BigInt(8 * (size - 3));
  if (mantissa & 0x800000n) {
    mantissa >>= 8n;
    size++;
  }
  return ((size << 24) | Number(mantissa)) >>> 0;
}

/** The hashes a block at `target` takes on average: Bitcoin Core's GetBlockProof, 2^256 / (target + 1). */
export function blockWork(target: bigint): bigint {
  return (1n << 256n) / (target + 1n);
}

/** The median of `times` (the last MEDIAN_TIME_SPAN headers' times): a header must be timed after it. */
export function medianTime(times: readonly number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

/** A header's hash as the number its target bounds (the hash read little-endian). */
export function hashValue(header: Uint8Array): bigint {
  return BigInt(`0x${toHex(sha256d(header).reverse())}`);
}

/**
 * The nBits of the period after one whose first block has time `firstTime` and whose last block has
 * `last` (its nBits and time): the target scaled by the period's duration over two weeks, the scale
 * clamped to 1/4..4, and never easier than the network allows.
 */
export function nextPeriodBits(
  last: { bits: number; time: number },
  firstTime: number,
  powLimit: bigint,
): number {
  const timespan = Math.min(TARGET_TIMESPAN * 4, Math.max(TARGET_TIMESPAN / 4, last.time - firstTime));
  const target = (targetFromBits(last.bits) * BigInt(timespan)) / BigInt(TARGET_TIMESPAN);
  return bitsFromTarget(target > powLimit ? powLimit : target);
}
