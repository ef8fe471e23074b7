/** Runs a test body with the python-opentimestamps oracle (skipped locally, failed in CI, without it). */
import type { TestContext } from 'node:test';
import { requireTools } from '../helpers/require-tools.js';
import { oracleUnavailable, PythonOracle } from './python-oracle.js';

export async function withOracle(
  t: TestContext,
  body: (oracle: PythonOracle) => Promise<void>,
): Promise<void> {
  if (!requireTools(t, oracleUnavailable())) return;
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
