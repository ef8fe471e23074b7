/**
 * The embedded regtest node for `npm start`: bcoin (a full Bitcoin node in JavaScript, installed from
 * npm into embedded/bcoin), on loopback, with its chain in the data directory. It funds the calendar's
 * key by mining to it and mines a block on a timer, so the whole loop runs with nothing else installed.
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freeLoopbackPort } from './free-port.js';
import { NodeClient } from './node-client.js';

const BCOIN = fileURLToPath(new URL('../../../embedded/bcoin/node_modules/bcoin/bin/node', import.meta.url));
const LAUNCHER = fileURLToPath(new URL('./bcoin-launcher.js', import.meta.url));
/** bcoin activates segwit (BIP9 on its regtest) at this height; P2WPKH spends need it. */
export const BCOIN_SEGWIT_HEIGHT = 432;
/** Mined at start: segwit active, and more than 100 coinbases to the calendar matured. */
const FUNDED_HEIGHT = BCOIN_SEGWIT_HEIGHT + 120;

export interface EmbeddedBcoin {
  node: NodeClient;
  rpcUrl: string;
  /** Mines `count` blocks paying `address`. */
  mine(count: number, address: string): Promise<void>;
  stop(): Promise<void>;
}

export function embeddedBcoinInstalled(): boolean {
  return existsSync(BCOIN);
}

export async function startEmbeddedBcoin(options: {
  chainDir: string;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}): Promise<EmbeddedBcoin> {
  if (!embeddedBcoinInstalled()) {
    throw new Error(
      `embedded regtest node not installed: run node scripts/install-apart.mjs embedded/bcoin, as npm start does (missing ${BCOIN})`,
    );
  }
  mkdirSync(options.chainDir, { recursive: true });
  const port = await freeLoopbackPort();
  const apiKey = randomBytes(16).toString('hex');
  const args = [
    '--network=regtest',
    '--memory=false',
    `--prefix=${options.chainDir}`,
    '--workers=false',
    '--listen=false',
    '--only=127.0.0.1:1',
    '--no-wallet',
    '--http-host=127.0.0.1',
    `--http-port=${port}`,
    `--api-key=${apiKey}`,
    '--log-console=false',
    '--log-file=false',
  ];
  const rpcUrl = `http://x:${apiKey}@127.0.0.1:${port}/`;
  const node = new NodeClient({ url: rpcUrl, timeoutMs: 30_000 });
  const deadline = Date.now() + 60_000;
  let stderr = '';
  let child: ChildProcess | undefined;
  while (!child) {
    stderr = '';
    const started: ChildProcess = spawn(process.execPath, [LAUNCHER, BCOIN, ...args], {
      env: { ...process.env, BCOIN_NETWORK: 'regtest' },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    started.stderr?.on('data', (chunk) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    for (;;) {
      if (started.exitCode !== null) {
        // a node left by a killed otsd exits once it notices (its IPC channel closed); until then it holds the chain lock
        if (!/LOCK/.test(stderr) || Date.now() > deadline)
          throw new Error(`embedded bcoin exited at start: ${stderr}`);
        await sleep(500);
        break;
      }
      try {
        await node.blockCount();
        child = started;
        break;
      } catch {
        if (Date.now() > deadline) {
          started.kill('SIGTERM');
          throw new Error(`embedded bcoin did not answer within 60 s: ${stderr}`);
        }
        await sleep(100);
      }
    }
  }
  const running = child;
  const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
  // for poking the demo chain by hand (and for tests): the URL holds the API key, so 0600
  writeFileSync(join(options.chainDir, RPC_URL_FILE), `${rpcUrl}\n`, { mode: 0o600 });
  options.log.info(
    { pid: child.pid, port, chainDir: options.chainDir },
    'embedded regtest node (bcoin) started',
  );
  const mine = async (count: number, address: string) => {
    for (let left = count; left > 0; left -= 100) {
      await node.rpc.call('generatetoaddress', Math.min(100, left), address);
    }
  };
  return {
    node,
    rpcUrl,
    mine,
    stop: async () => {
      if (running.exitCode === null) running.kill('SIGTERM');
      await exited;
    },
  };
}

/** Mines until segwit is active and the calendar's coinbases have matured, if the chain is younger. */
export async function fundOnRegtest(bcoin: EmbeddedBcoin, address: string): Promise<void> {
  const height = await bcoin.node.blockCount();
  if (height < FUNDED_HEIGHT) await bcoin.mine(FUNDED_HEIGHT - height, address);
}

export const bcoinChainDir = (dataDir: string) => join(dataDir, 'regtest-bcoin');
/** In the chain directory: the node's JSON-RPC URL, API key included. */
export const RPC_URL_FILE = 'rpc-url';
