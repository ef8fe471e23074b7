/**
 * Tests that need a real outside part (python-opentimestamps, litecoind, bcoin, the npm client): a
 * local run without it skips with the reason; a CI run (CI=true) fails, since .ci/run installs them.
 */
import { existsSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { embeddedBcoinInstalled } from '../../src/bitcoin/embedded-bcoin.js';
import { CLIENTS_DIR } from '../clients/run-client.js';

/** True when nothing is missing; otherwise skips (locally) or throws (in CI). */
export function requireTools(t: TestContext, ...missing: (string | undefined)[]): boolean {
  const reasons = missing.filter((m): m is string => m !== undefined);
  if (reasons.length === 0) return true;
  if (process.env.CI) throw new Error(reasons.join('; '));
  t.skip(reasons.join('; '));
  return false;
}

/** Why the embedded bcoin node cannot run here, or undefined. */
export function embeddedBcoinMissing(): string | undefined {
  return embeddedBcoinInstalled()
    ? undefined
    : 'embedded/bcoin is not installed (node scripts/install-apart.mjs embedded/bcoin; npm test does)';
}

/** Why the npm opentimestamps client cannot run here, or undefined. */
export function jsClientMissing(): string | undefined {
  return existsSync(`${CLIENTS_DIR}js/node_modules/opentimestamps`)
    ? undefined
    : 'test/clients/js is not installed (node scripts/install-apart.mjs test/clients/js; npm test does)';
}
