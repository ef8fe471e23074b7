/** `otsd run` processes for the benchmarks: started with extra flags, found by their log line, stopped. */
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { spawnTracked, type TrackedChild } from '../test/helpers/child-process.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

/**
 * Extra node flags for every otsd started here, space-separated, e.g. BENCH_OTSD_NODE_FLAGS='--cpu-prof
 * --cpu-prof-dir=/tmp/prof' to profile what a row costs otsd (the profile is written when it stops).
 */
const NODE_FLAGS = process.env.BENCH_OTSD_NODE_FLAGS?.split(' ').filter((flag) => flag !== '') ?? [];

/**
 * Runs `node ...BENCH_OTSD_NODE_FLAGS otsd run --listen 127.0.0.1:0 --log-level warn ...args` (with `env` added to this process's
 * environment); resolves once it listens and, for a calendar, once the full check of its index has
 * ended: the check reads the whole journal beside the requests measured (it made the status page of a
 * 200k-commitment calendar look three times slower than a small one's).
 */
export async function startOtsd(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ url: string; process: TrackedChild }> {
  const process = spawnTracked(
    globalThis.process.execPath,
    [...NODE_FLAGS, MAIN, 'run', '--listen', '127.0.0.1:0', '--log-level', 'warn', ...args],
    { env: { ...globalThis.process.env, ...env } },
  );
  const match = await process.waitForOutput(/listening on (http:\/\/\S+)/, `otsd run ${args.join(' ')}`);
  const url = match[1] as string;
  await indexChecked(url);
  return { url, process };
}

/** Waits (at most two minutes) until the full index check of the otsd at `url` is no longer running. */
async function indexChecked(url: string): Promise<void> {
  for (let waited = 0; waited < 120_000; waited += 100) {
    const status = (await (await fetch(url, { headers: { accept: 'application/json' } })).json()) as {
      index_check?: string | null;
    };
    if (status.index_check !== 'running') return;
    await sleep(100);
  }
  throw new Error(`${url}: the index check still runs after two minutes`);
}
