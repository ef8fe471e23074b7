/** Runs the client scripts in test/clients as child processes (asynchronously: the calendar under test may share this process). */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
/** The scripts stay in test/clients; compiled tests run from dist/test/clients. */
export const CLIENTS_DIR = fileURLToPath(new URL('../../../test/clients/', import.meta.url));

/** Runs `script` (python_client.py, python_verify.py) with Debian's python3; one JSON object per output line. */
export async function runPython(
  script: string,
  args: string[],
  env?: Record<string, string>,
): Promise<Record<string, unknown>[]> {
  const { stdout } = await run('/usr/bin/python3', [`${CLIENTS_DIR}${script}`, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    ...(env && { env: { ...process.env, ...env } }),
  });
  return stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Runs the npm opentimestamps client script; returns its last output line, parsed. */
export async function runJsClient<T>(args: string[]): Promise<T> {
  const { stdout } = await run(process.execPath, [`${CLIENTS_DIR}js/stamp-and-upgrade.cjs`, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1) as string) as T;
}
