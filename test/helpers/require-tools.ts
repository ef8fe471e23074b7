/**
 * Tests that need a real outside part (python-opentimestamps, litecoind, bcoin, the npm client): a
 * local run without it skips with the reason; a CI run (CI=true) fails, since .ci/run installs them.
 */
import type { TestContext } from 'node:test';

/** True when nothing is missing; otherwise skips (locally) or throws (in CI). */
export function requireTools(t: TestContext, ...missing: (string | undefined)[]): boolean {
  const reasons = missing.filter((m): m is string => m !== undefined);
  if (reasons.length === 0) return true;
  if (process.env.CI) throw new Error(reasons.join('; '));
  t.skip(reasons.join('; '));
  return false;
}
