/** Runs `otsd run` as a child process, as an operator would, and waits until it listens. */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from './free-port.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

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

export async function startCalendarProcess(
  dataDir: string,
  extraArgs: string[] = [],
  port?: number,
): Promise<CalendarProcess> {
  const listenPort = port ?? (await freePort());
  const url = `http://127.0.0.1:${listenPort}`;
  const child = spawn(
    process.execPath,
    [MAIN, 'run', '--data-dir', dataDir, '--listen', `127.0.0.1:${listenPort}`, '--uri', url, ...extraArgs],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`calendar did not start within 15 s:\n${output}`)),
      15_000,
    );
    const check = () => {
      if (output.includes('listening on')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stderr?.on('data', check);
    child.once('exit', () => {
      clearTimeout(timer);
      reject(new Error(`calendar exited during start:\n${output}`));
    });
  });
  return {
    url,
    child,
    output: () => output,
    stop: (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
