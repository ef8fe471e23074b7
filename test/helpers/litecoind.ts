/**
 * A real litecoind regtest node (Debian's litecoind: Bitcoin Core 0.21's RPC, with real BIP125
 * replacement) on loopback, in a temporary data directory, stopped when the test ends.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { RpcClient } from '../../src/bitcoin/rpc-client.js';
import { tempDir } from './temp-dir.js';

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

export async function startLitecoind(t: TestContext): Promise<Litecoind> {
  const datadir = tempDir(t, 'otsd-ltc-');
  const port = 20000 + Math.floor(Math.random() * 12000);
  const rpcUrl = `http://otsd:test@127.0.0.1:${port}/`;
  const rpc = new RpcClient({ url: rpcUrl, timeoutMs: 10_000 });
  let child = await launch(datadir, port, rpc);
  let exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  };
  t.after(stop);
  return {
    rpcUrl,
    rpc,
    stop,
    restart: async () => {
      child = await launch(datadir, port, rpc);
      exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    },
  };
}

async function launch(datadir: string, port: number, rpc: RpcClient): Promise<ChildProcess> {
  const child = spawn(
    LITECOIND,
    [
      '-regtest',
      `-datadir=${datadir}`,
      '-server',
      '-printtoconsole=0',
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
      '-txindex=1',
      '-mempoolreplacement=1',
      '-acceptnonstdtxn=0',
      '-vbparams=mweb:4102444800:4102444801',
      '-disablewallet',
    ],
    { stdio: 'ignore' },
  );
  for (let i = 0; ; i++) {
    try {
      await rpc.call('getblockcount');
      return child;
    } catch {
      if (child.exitCode !== null || i > 300) throw new Error('litecoind did not start');
      await sleep(100);
    }
  }
}
