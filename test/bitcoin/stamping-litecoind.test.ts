/**
 * Stamping end to end on a real litecoind regtest node (Bitcoin Core 0.21's RPC and replace-by-fee):
 * a first version, a replacement on every block that did not include it, covering the digests that
 * came meanwhile at a higher fee, then the proof of the version that confirmed, checked by
 * python-opentimestamps against the node's block header.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { NETWORKS } from '../../src/bitcoin/network.js';
import { loadWalletKey, walletKeyFromPrivate } from '../../src/bitcoin/wallet-key.js';
import { startCalendarNode } from '../../src/daemon/calendar-node.js';
import { PendingAttestation, Timestamp, toHex } from '../../src/ots/index.js';
import { freePort } from '../helpers/free-port.js';
import { litecoindUnavailable, startLitecoind } from '../helpers/litecoind.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';
import { oracleUnavailable } from '../oracle/python-oracle.js';

const run = promisify(execFile);
const CLIENTS = fileURLToPath(new URL('../../../test/clients/', import.meta.url));

async function postDigest(url: string): Promise<string> {
  const digest = crypto.getRandomValues(new Uint8Array(32));
  const res = await fetch(`${url}/digest`, { method: 'POST', body: digest });
  assert.equal(res.status, 200);
  const found = Timestamp.fromBytes(digest, new Uint8Array(await res.arrayBuffer())).shortestPathTo(
    (a) => a instanceof PendingAttestation,
  );
  return toHex(found?.msg as Uint8Array);
}

describe('stamping on litecoind', () => {
  it('replaces the transaction on each block until one confirms, and proves that version', async (t) => {
    const missing = litecoindUnavailable() ?? oracleUnavailable();
    if (missing) {
      if (process.env.CI) throw new Error(missing);
      t.skip(missing);
      return;
    }
    const ltc = await startLitecoind(t);
    const network = NETWORKS['litecoin-regtest'];
    const dataDir = tempDir(t);
    const key = loadWalletKey(dataDir, network, true);
    const miner = walletKeyFromPrivate(new Uint8Array(32).fill(7), network).address;
    await ltc.rpc.call('generatetoaddress', 1, key.address);
    await ltc.rpc.call('generatetoaddress', 100, miner);

    const port = await freePort();
    const node = await startCalendarNode({
      dataDir,
      uri: `http://127.0.0.1:${port}`,
      host: '127.0.0.1',
      port,
      roundIntervalMs: 20,
      bitcoin: {
        network: 'litecoin-regtest',
        rpc: { url: ltc.rpcUrl },
        minConfirmations: 2,
        stampIntervalMs: 100,
        pollMs: 100,
        scanFromHeight: 0,
        // litecoind's minimum relay and incremental fees are 10 sat/vB
        fees: { feeRate: 20, bumpFactor: 1.6, minBump: 10 },
      },
      logger: pino({ level: 'silent' }),
    });
    t.after(() => node.close());

    const commitments = [await postDigest(node.url), await postDigest(node.url)];
    const mempool = () => ltc.rpc.call<string[]>('getrawmempool');
    const sent: string[] = [
      await waitFor('the first version in the mempool', async () => (await mempool())[0]),
    ];
    for (let bump = 0; bump < 3; bump++) {
      commitments.push(await postDigest(node.url));
      // a block without our transaction: the stamper must replace it
      await ltc.rpc.call('generateblock', miner, []);
      const previous = sent.at(-1);
      sent.push(
        await waitFor('a replacement', async () => {
          const txids = await mempool();
          return txids.length === 1 && txids[0] !== previous ? txids[0] : undefined;
        }),
      );
    }
    assert.equal(new Set(sent).size, 4, 'four versions, each replacing the last');
    const fees = await Promise.all(
      [sent.at(-1)].map((txid) =>
        ltc.rpc.call<{ fees: { base: number }; vsize: number }>('getmempoolentry', txid),
      ),
    );
    assert.ok(
      ((fees[0]?.fees.base ?? 0) * 1e8) / (fees[0]?.vsize ?? 1) > 75,
      'the last version pays the bumped rate',
    );

    const minedHeight = (await ltc.rpc.call<number>('getblockcount')) + 1;
    await ltc.rpc.call('generatetoaddress', 2, miner);
    await waitFor('every commitment proved', async () => {
      const states = await Promise.all(commitments.map((c) => node.calendar.lookup(Buffer.from(c, 'hex'))));
      return states.every((s) => s.state === 'found') ? true : undefined;
    });
    const mined = await ltc.rpc.call<{ tx: string[] }>(
      'getblock',
      await ltc.rpc.call('getblockhash', minedHeight),
      1,
    );
    assert.ok(mined.tx.includes(sent.at(-1) as string), 'the last version is the one mined');

    const { stdout } = await run(
      '/usr/bin/python3',
      [`${CLIENTS}python_verify.py`, node.url, ltc.rpcUrl, ...commitments],
      { timeout: 60_000 },
    );
    const verified = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { verified: { height: number }[] });
    assert.deepEqual(
      verified.map((v) => v.verified.map((x) => x.height)),
      commitments.map(() => [minedHeight]),
    );
    assert.equal(node.calendar.index.openStamps().length, 0);
    const status = node.stamper?.status();
    assert.equal(status?.inFlight, undefined);
    assert.ok((status?.feesSpentSats ?? 0) > 0);
  });
});
