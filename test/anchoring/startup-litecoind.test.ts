/**
 * Start-up never waits for the chain: `otsd run` on litecoind says READY=1 while its first scan is
 * still waiting on the node, and its status page says how far the scan is.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCliAsync } from '../cli/run-cli.js';
import { startCalendarProcess } from '../helpers/calendar-process.js';
import { startFaultyRpcProxy } from '../helpers/faulty-rpc-proxy.js';
import { litecoindUnavailable, startLitecoind } from '../helpers/litecoind.js';
import { notifyUnavailable, startNotifySocket } from '../helpers/notify-socket.js';
import { requireTools } from '../helpers/require-tools.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';

interface ScanJson {
  state: string;
  from?: number;
  blocks_to_go?: number;
  scanned_height?: number;
}

async function anchoring(url: string): Promise<{ chain_scan: ScanJson; last_error: string | null }> {
  const res = await fetch(url, { headers: { accept: 'application/json' } });
  return ((await res.json()) as { anchoring: { chain_scan: ScanJson; last_error: string | null } }).anchoring;
}

async function chainScan(url: string): Promise<ScanJson> {
  return (await anchoring(url)).chain_scan;
}

describe('start-up and the chain', () => {
  it('says READY=1 before the first scan ends, and the status page shows the scan', async (t) => {
    if (!requireTools(t, litecoindUnavailable(), notifyUnavailable())) return;
    const ltc = await startLitecoind(t);
    const miner = 'rltc1qw508d6qejxtdg4y5r3zarvary0c5xw7k693xs3';
    await ltc.rpc.call('generatetoaddress', 150, miner);
    // the node answers everything but blocks, until the test lets them through
    const proxy = await startFaultyRpcProxy(t, ltc.rpcUrl);
    proxy.hold(['getblock']);
    const dir = tempDir(t);
    const socket = await startNotifySocket(t, dir);
    process.env.NOTIFY_SOCKET = socket.path;
    let calendar: Awaited<ReturnType<typeof startCalendarProcess>>;
    try {
      calendar = await startCalendarProcess(join(dir, 'data'), [
        '--bitcoin-rpc',
        proxy.url,
        '--bitcoin-network',
        'litecoin-regtest',
        '--bitcoin-scan-from',
        '0',
      ]);
    } finally {
      delete process.env.NOTIFY_SOCKET;
    }
    t.after(() => calendar.stop());
    await waitFor('READY=1', () => (socket.messages().includes('READY=1') ? true : undefined));
    // READY did not wait for the scan, not even for its first block to time out
    assert.equal((await anchoring(calendar.url)).last_error, null);
    const scanning = await waitFor('the scan on the status page', async () => {
      const scan = await chainScan(calendar.url);
      return scan.state === 'scanning' ? scan : undefined;
    });
    assert.deepEqual(scanning, {
      state: 'scanning',
      from: 0,
      scanned_height: -1,
      node_height: 150,
      blocks_to_go: 151,
    });
    assert.match(
      await (await fetch(`${calendar.url}/status`)).text(),
      /scanning the chain from 0 \(151 blocks to go\)/,
    );
    const summary = await runCliAsync(['status', '--url', calendar.url]);
    assert.match(summary.stdout, /^chain {8}scanning from 0, 151 blocks to go$/m);

    proxy.heal();
    await waitFor('the scan done', async () => {
      const scan = await chainScan(calendar.url);
      return scan.state === 'following' && scan.scanned_height === 150 ? true : undefined;
    });
    assert.equal(await calendar.stop('SIGTERM'), 0);
  });
});
