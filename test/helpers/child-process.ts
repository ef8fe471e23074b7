/**
 * Child processes for tests and benchmarks, ended on every path: by `stop()`, by a start-up wait that
 * gives up, and (SIGKILL) when this process exits for any reason, so no child can keep a test file,
 * and with it the whole run, alive. Each keeps the tail of its output to show when something fails.
 */
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';

/**
 * How long a helper waits for a process to start: generous, because CI shares two cores between a
 * test file's processes (a calendar, its bcoin or litecoind, nginx) and the test runner itself.
 */
export const STARTUP_TIMEOUT_MS = 120_000;

/** Output kept per child (the tail): enough for a stack trace and the log lines before it. */
const OUTPUT_TAIL_BYTES = 64 * 1024;

/** Each running child, with how to signal it (its whole process group when it was started detached). */
const live = new Map<ChildProcess, (signal: NodeJS.Signals) => void>();
process.on('exit', () => {
  for (const signal of live.values()) signal('SIGKILL');
});

export interface TrackedChild {
  readonly child: ChildProcess;
  /** The last 64 KiB of stdout and stderr, interleaved as they came. */
  output(): string;
  /** Resolves with the exit code (or the signal's name) once the process is gone. */
  readonly exited: Promise<number | string>;
  /** Throws, with the output, once the process has exited: for polls that wait on it. */
  assertRunning(what: string): void;
  /**
   * Resolves with the first match of `pattern` in the output. Rejects, with the output, when the
   * process exits first or `timeoutMs` passes; on a timeout the process is killed first.
   */
  waitForOutput(pattern: RegExp, what: string, timeoutMs?: number): Promise<RegExpExecArray>;
  /** Sends `signal`, then SIGKILL if the process is still there after `graceMs`. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number | string>;
}

/**
 * Spawns `command`. With `detached: true` it leads a process group and every signal goes to the whole
 * group: for commands such as `npm start` whose real work happens in grandchildren.
 */
export function spawnTracked(command: string, args: string[], options: SpawnOptions = {}): TrackedChild {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  const signal = (name: NodeJS.Signals) => {
    try {
      if (options.detached && child.pid !== undefined) process.kill(-child.pid, name);
      else child.kill(name);
    } catch {
      // already gone
    }
  };
  live.set(child, signal);
  let output = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer | string) => {
    output += chunk;
    if (output.length > OUTPUT_TAIL_BYTES) output = output.slice(-OUTPUT_TAIL_BYTES);
    for (const listener of listeners) listener();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signalName) => {
      live.delete(child);
      // a group outlives its leader: end whatever the leader left behind
      if (options.detached) signal('SIGKILL');
      resolve(code ?? signalName ?? -1);
    });
    child.once('error', (e) => {
      live.delete(child);
      output += `\n[spawn ${command}: ${e.message}]`;
      resolve(-1);
    });
  });
  const running = () => child.exitCode === null && child.signalCode === null;
  const stop = async (name: NodeJS.Signals = 'SIGTERM', graceMs = 30_000) => {
    if (running()) signal(name);
    const timer = setTimeout(() => signal('SIGKILL'), graceMs);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  };
  const waitForOutput = (pattern: RegExp, what: string, timeoutMs = STARTUP_TIMEOUT_MS) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const done = () => {
        listeners.delete(check);
        clearTimeout(timer);
      };
      const check = () => {
        const match = pattern.exec(output);
        if (!match) return;
        done();
        resolve(match);
      };
      const timer = setTimeout(() => {
        done();
        stop('SIGKILL').then(() =>
          reject(new Error(`${what}: not seen within ${timeoutMs / 1000} s; its output:\n${output}`)),
        );
      }, timeoutMs);
      listeners.add(check);
      exited.then((code) => {
        if (!listeners.has(check)) return;
        done();
        reject(new Error(`${what}: the process exited (${code}) first; its output:\n${output}`));
      });
      check();
    });
  const assertRunning = (what: string) => {
    if (!running()) throw new Error(`${what}: the process exited; its output:\n${output}`);
  };
  return { child, output: () => output, exited, assertRunning, waitForOutput, stop };
}
