/**
 * A real litecoind regtest node (Debian's litecoind: Bitcoin Core 0.21's RPC, with real BIP125
 * replacement) on loopback, in a temporary data directory, stopped when the test ends.
 */
import { existsSync } from 'node:fs';
import { after, type TestContext } from 'node:test';
import { RpcClient } from '../../src/bitcoin/rpc-client.js';
import { STARTUP_TIMEOUT_MS, spawnTracked, type TrackedChild } from './child-process.js';
import { freePort } from './free-port.js';
import { tempDir } from './temp-dir.js';
import { waitFor } from './wait-for.js';

const LITECOIND = '/usr/lib/litecoin/litecoind';

export function litecoindUnavailable(): string | undefined {
  return existsSync(LITECOIND) ? undefined : `${LITECOIND} missing (apt-get install litecoind; .ci/run does)`;
}

export interface Litecoind {
  rpcUrl: string;
  rpc: RpcClient;
  /** Stops the node (RPC `stop`, then waits for the process). */
  stop(): Promise<void>;
  /** Starts it again on the same data directory and port. */
  restart(): Promise<void>;
}

export interface LitecoindOptions {
  /** Run as a pruned node (-prune=550, the smallest target; no -txindex, which pruning excludes). */
  pruned?: boolean;
  /** With its wallet (a donor's, as in docs/external-stamping.md); otsd itself never needs one. */
  wallet?: boolean;
}

export async function startLitecoind(
  t: Pick<TestContext, 'after'>,
  options: LitecoindOptions = {},
): Promise<Litecoind> {
  const datadir = tempDir(t, 'otsd-ltc-');
  const port = await freePort();
  const rpcUrl = `http://otsd:test@127.0.0.1:${port}/`;
  const rpc = new RpcClient({ url: rpcUrl, timeoutMs: 10_000 });
  const launch = () => launchLitecoind(datadir, port, rpc, options);
  let node = await launch();
  const stop = async () => {
    await node.stop();
  };
  t.after(stop);
  return {
    rpcUrl,
    rpc,
    stop,
    restart: async () => {
      node = await launch();
    },
  };
}

/** Starts litecoind and waits for its RPC; if it does not answer in time it is killed, its log shown. */
async function launchLitecoind(
  datadir: string,
  port: number,
  rpc: RpcClient,
  options: LitecoindOptions,
): Promise<TrackedChild> {
  const node = spawnTracked(LITECOIND, [
    '-regtest',
    `-datadir=${datadir}`,
    '-server',
    '-printtoconsole=1',
    '-listen=0',
    '-dnsseed=0',
    '-connect=0',
    '-discover=0',
    '-upnp=0',
    '-rpcbind=127.0.0.1',
    '-rpcallowip=127.0.0.1',
    `-rpcport=${port}`,
    '-rpcuser=otsd',
    '-rpcpassword=test',
    '-fallbackfee=0.0001',
    ...(options.pruned ? ['-prune=550'] : ['-txindex=1']),
    '-mempoolreplacement=1',
    '-acceptnonstdtxn=0',
    '-vbparams=mweb:4102444800:4102444801',
    ...(options.wallet ? [] : ['-disablewallet']),
  ]);
  try {
    await waitFor(
      'litecoind RPC',
      () => {
        node.assertRunning('litecoind');
        return rpc.call('getblockcount').catch(() => undefined);
      },
      STARTUP_TIMEOUT_MS,
      node.output,
    );
  } catch (e) {
    await node.stop('SIGKILL');
    throw e;
  }
  return node;
}

/**
 * One litecoind for every test of a file (their calendars share its chain): started by the first test
 * that asks, stopped after the file's last test. Call at the top level of the file.
 */
export function litecoindForFile(options: LitecoindOptions = {}): () => Promise<Litecoind> {
  const cleanups: (() => unknown)[] = [];
  let node: Promise<Litecoind> | undefined;
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });
  const scope = { after: (cleanup: () => unknown) => void cleanups.push(cleanup) };
  return () => {
    node ??= startLitecoind(scope, options);
    return node;
  };
}
