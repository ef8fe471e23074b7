/** `otsd run` processes for the benchmarks: started with extra flags, found by their log line, stopped. */
import { fileURLToPath } from 'node:url';
import { spawnTracked, type TrackedChild } from '../test/helpers/child-process.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

/**
 * Runs `otsd run --listen 127.0.0.1:0 --log-level warn ...args` (with `env` added to this process's
 * environment); resolves once it listens.
 */
export async function startOtsd(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ url: string; process: TrackedChild }> {
  const process = spawnTracked(
    globalThis.process.execPath,
    [MAIN, 'run', '--listen', '127.0.0.1:0', '--log-level', 'warn', ...args],
    { env: { ...globalThis.process.env, ...env } },
  );
  const match = await process.waitForOutput(/listening on (http:\/\/\S+)/, `otsd run ${args.join(' ')}`);
  return { url: match[1] as string, process };
}
