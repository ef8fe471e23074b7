/** Runs `otsd run` as a child process, as an operator would, and waits until it listens. */
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { spawnTracked } from './child-process.js';
import { freePort } from './free-port.js';

/** The built otsd command. */
export const OTSD_MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** `otsd run` flags for a calendar stamping on the embedded bcoin regtest chain, a block a second. */
export const FAST_EMBEDDED_REGTEST = [
  '--embedded-regtest',
  '--block-interval',
  '1',
  '--stamp-interval',
  '1',
  '--round-interval',
  '50',
  '--log-level',
  'warn',
];

export interface CalendarProcess {
  url: string;
  child: ChildProcess;
  output: () => string;
  /** Sends `signal` and resolves with the exit code (or signal name) once the process is gone. */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/**
 * Starts `otsd run` on `dataDir` and resolves once it listens; if it exits or does not listen within
 * the start-up timeout, it is killed and the error shows its output.
 */
export async function startCalendarProcess(
  dataDir: string,
  extraArgs: string[] = [],
  port?: number,
): Promise<CalendarProcess> {
  const listenPort = port ?? (await freePort());
  const url = `http://127.0.0.1:${listenPort}`;
  const tracked = spawnTracked(process.execPath, [
    OTSD_MAIN,
    'run',
    '--data-dir',
    dataDir,
    '--listen',
    `127.0.0.1:${listenPort}`,
    '--uri',
    url,
    ...extraArgs,
  ]);
  await tracked.waitForOutput(/listening on/, `otsd run --data-dir ${dataDir}`);
  return { url, child: tracked.child, output: tracked.output, stop: (signal) => tracked.stop(signal) };
}
