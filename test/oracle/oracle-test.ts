/**
 * Runs a test body with the python-opentimestamps oracle. Where the oracle is missing, a local run
 * skips with the reason; a CI run (CI=true) fails, since .ci/run installs it.
 */
import type { TestContext } from 'node:test';
import { oracleUnavailable, PythonOracle } from './python-oracle.js';

export async function withOracle(
  t: TestContext,
  body: (oracle: PythonOracle) => Promise<void>,
): Promise<void> {
  const missing = oracleUnavailable();
  if (missing) {
    if (process.env.CI) throw new Error(missing);
    t.skip(missing);
    return;
  }
  const oracle = new PythonOracle();
  try {
    await body(oracle);
  } finally {
    await oracle.close();
  }
}

/** The reference's exception names, in our names. */
export const ORACLE_ERROR_NAMES: Readonly<Record<string, string>> = {
  UnsupportedMajorVersion: 'UnsupportedMajorVersionError',
};
