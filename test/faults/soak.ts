/**
 * The fault suite's two sizes: quick cases on every `npm test`, and the long soak with
 * OTSD_FAULT_SOAK=1 (`.ci/run` sets it; it adds a few minutes).
 */
export const SOAK = process.env.OTSD_FAULT_SOAK === '1';

/** `quick` on an ordinary run, `soak` with OTSD_FAULT_SOAK=1. */
export function scale<T>(quick: T, soak: T): T {
  return SOAK ? soak : quick;
}
