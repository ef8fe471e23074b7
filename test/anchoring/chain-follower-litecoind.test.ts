/**
 * Following the chain on a real litecoind: a node that fails for a while is retried, not taken for a
 * reorg; a block invalidated on the node gives back exactly the outputs it had spent; a restart goes
 * on from the saved scan position; a pruned node gives the key's outputs from its UTXO set, also
 * once it has deleted blocks the scan had yet to read, and one without scantxoutset is one clear error.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { OutScript, Transaction } from '@scure/btc-signer';
import { NETWORKS } from '../../src/bitcoin/network.js';
import { walletKeyFromPrivate } from '../../src/bitcoin/wallet-key.js';
import { fromHex, toHex } from '../../src/ots/index.js';
import { blocksFetched, type FaultyRpcProxy } from '../helpers/faulty-rpc-proxy.js';
import {
  allProved,
  type LitecoinCalendar,
  ownTransactionSent,
  stampsOneDigest,
  startLitecoinCalendar,
} from '../helpers/litecoin-calendar.js';
import { litecoindUnavailable } from '../helpers/litecoind.js';
import { requireTools } from '../helpers/require-tools.js';
import { waitFor } from '../helpers/wait-for.js';

/** A calendar whose node is behind the fault injector, with the injector. */
async function behindFaultInjector(
  t: TestContext,
  options: Omit<Parameters<typeof startLitecoinCalendar>[1], 'proxy'> = {},
): Promise<[LitecoinCalendar, FaultyRpcProxy]> {
  const calendar = await startLitecoinCalendar(t, { ...options, proxy: true });
  return [calendar, calendar.proxy as FaultyRpcProxy];
}

/** Resolves once the stamper has read the chain up to the node's tip; returns that height. */
async function scannedToTip(calendar: LitecoinCalendar): Promise<number> {
  return waitFor(
    'the stamper at the tip',
    async () => {
      const tip = await calendar.ltc.rpc.call<number>('getblockcount');
      return calendar.node.anchoring?.status().chainHeight === tip ? tip : undefined;
    },
    60_000,
    calendar.explain,
  );
}

describe('chain following on litecoind', () => {
  it('a node that fails for a while is asked again: no walk-back, no block read twice', async (t) => {
    if (!requireTools(t, litecoindUnavailable())) return;
    const [calendar, proxy] = await behindFaultInjector(t);
    const tip = await scannedToTip(calendar);
    // getblockcount still answers, so the stamper sees a new block, then cannot check its own
    proxy.drop(['getblockhash']);
    await calendar.ltc.rpc.call('generatetoaddress', 1, calendar.miner);
    await waitFor('the failure on the status page', () =>
      calendar.node.anchoring?.status().lastError?.includes('getblockhash') ? true : undefined,
    );
    await sleep(1000); // a few more polls while the node fails
    proxy.heal();
    await calendar.ltc.rpc.call('generatetoaddress', 1, calendar.miner);
    assert.equal(await scannedToTip(calendar), tip + 2);
    const fetched = blocksFetched(proxy.calls);
    assert.equal(new Set(fetched).size, fetched.length, 'every block read once');
    assert.equal(fetched.length, tip + 3, 'blocks 0 to the tip, each once');
    assert.deepEqual(
      calendar.log().filter((l) => l.includes('reorg')),
      [],
    );
    // a poll sent while the node failed (its connection dropped) can end after the scan reached the
    // tip: the next poll that succeeds clears it
    await waitFor('the problem to be over', () =>
      calendar.node.anchoring?.status().lastError === undefined ? true : undefined,
    );
  });

  it('invalidateblock of the block that spent our output gives it back, and the stamper spends it', async (t) => {
    if (!requireTools(t, litecoindUnavailable())) return;
    const calendar = await startLitecoinCalendar(t, { minConfirmations: 1 });
    const { ltc, key, miner } = calendar;
    await scannedToTip(calendar);
    const funded = calendar.node.anchoring?.status().balanceSats ?? 0;
    assert.ok(funded > 0);
    // someone with the key spends the calendar's only coin in a transaction that no mempool takes
    // back after a reorg (an 90-byte OP_RETURN is not standard): only the undo data can restore it
    const coinbase = (
      await ltc.rpc.call<{ tx: string[] }>('getblock', await ltc.rpc.call('getblockhash', 1), 1)
    ).tx[0] as string;
    const spend = new Transaction({ allowUnknownOutputs: true });
    spend.addInput({
      txid: fromHex(coinbase),
      index: 0,
      witnessUtxo: { script: key.script, amount: BigInt(funded) },
    });
    spend.addOutput({
      script: OutScript.encode({
        type: 'unknown',
        script: new Uint8Array([0x6a, 0x4c, 90, ...new Uint8Array(90)]),
      }),
      amount: 0n,
    });
    const other = walletKeyFromPrivate(new Uint8Array(32).fill(9), NETWORKS['litecoin-regtest']);
    spend.addOutput({ script: other.script, amount: BigInt(funded) - 100_000n });
    spend.sign(key.privateKey);
    spend.finalize();
    const { hash } = await ltc.rpc.call<{ hash: string }>('generateblock', miner, [toHex(spend.extract())]);
    await waitFor('the coin spent', () =>
      calendar.node.anchoring?.status().balanceSats === 0 ? true : undefined,
    );

    await ltc.rpc.call('invalidateblock', hash);
    assert.deepEqual(await calendar.mempool(), [], 'the spending transaction is gone for good');
    await waitFor(
      'the coin back',
      () => (calendar.node.anchoring?.status().balanceSats === funded ? true : undefined),
      30_000,
      calendar.explain,
    );
    const commitments = [await calendar.postDigest()];
    const txid = await ownTransactionSent(calendar);
    const tx = await ltc.rpc.call<{ vin: { txid: string }[] }>('getrawtransaction', txid, true);
    assert.equal(tx.vin[0]?.txid, coinbase);
    await ltc.rpc.call('generatetoaddress', 1, miner);
    await waitFor('the proof', () => allProved(calendar.node, commitments), 30_000, calendar.explain);
  });

  it('a restart goes on from the saved scan position: only the blocks mined meanwhile are read', async (t) => {
    if (!requireTools(t, litecoindUnavailable())) return;
    const [calendar, proxy] = await behindFaultInjector(t);
    const tip = await scannedToTip(calendar);
    await calendar.restart({
      whileStopped: async () => {
        proxy.calls.length = 0;
        await calendar.ltc.rpc.call('generatetoaddress', 5, calendar.miner);
      },
    });
    assert.equal(await scannedToTip(calendar), tip + 5);
    assert.equal(blocksFetched(proxy.calls).length, 5);
  });

  it('coins sent before the scan began are found after a restart with --bitcoin-scan-from below them', async (t) => {
    if (!requireTools(t, litecoindUnavailable())) return;
    // the key's only coin is in block 1: a scan from 50 misses it
    const calendar = await startLitecoinCalendar(t, { scanFromHeight: 50 });
    await scannedToTip(calendar);
    assert.equal(calendar.node.anchoring?.status().balanceSats, 0);
    await calendar.restart({ scanFromHeight: 0 });
    await scannedToTip(calendar);
    assert.ok((calendar.node.anchoring?.status().balanceSats ?? 0) > 0);
  });

  it('on a pruned node the key’s outputs come from the UTXO set, no old block is read, and stamping works', async (t) => {
    if (!requireTools(t, litecoindUnavailable())) return;
    const [calendar, proxy] = await behindFaultInjector(t, { node: { pruned: true }, minConfirmations: 1 });
    await scannedToTip(calendar);
    assert.deepEqual(blocksFetched(proxy.calls), []);
    assert.ok(proxy.calls.some((c) => c.method === 'scantxoutset'));
    assert.ok((calendar.node.anchoring?.status().balanceSats ?? 0) > 0);
    await stampsOneDigest(calendar);
  });

  it('a pruned node that deleted blocks the saved scan had yet to read: the outputs come from its UTXO set again', async (t) => {
    if (!requireTools(t, litecoindUnavailable())) return;
    const [calendar, proxy] = await behindFaultInjector(t, { node: { pruned: true }, minConfirmations: 1 });
    const tip = await scannedToTip(calendar);
    await calendar.restart({
      whileStopped: async () => {
        await calendar.ltc.rpc.call('generatetoaddress', 5, calendar.miner);
        // what a pruned node says once it has deleted those blocks (regtest litecoind cannot prune them)
        proxy.change('getblockchaininfo', (a) => ({
          ...a,
          result: { ...(a.result as object), pruneheight: tip + 5 },
        }));
        proxy.change('getblock', () => ({
          result: null,
          error: { code: -1, message: 'Block not available (pruned data)' },
        }));
        proxy.calls.length = 0;
      },
    });
    assert.equal(await scannedToTip(calendar), tip + 5);
    assert.equal(proxy.calls.filter((c) => c.method === 'scantxoutset').length, 1);
    assert.equal(calendar.node.anchoring?.status().lastError, undefined);
    proxy.heal();
    await stampsOneDigest(calendar);
  });

  it('a pruned node without scantxoutset: one clear error, in the log once and on the status page', async (t) => {
    if (!requireTools(t, litecoindUnavailable())) return;
    const [calendar, proxy] = await behindFaultInjector(t, { node: { pruned: true } });
    await scannedToTip(calendar);
    // a restart with no saved scan, on a node that lacks scantxoutset (as bcoin does)
    await calendar.restart({
      rebuildIndex: true,
      whileStopped: async () => {
        proxy.change('scantxoutset', () => ({
          result: null,
          error: { code: -32601, message: 'Method not found' },
        }));
      },
    });
    const error = await waitFor(
      'the error on the status page',
      () => calendar.node.anchoring?.status().lastError,
    );
    assert.match(
      error,
      /^the node is pruned, .*scantxoutset failed .*Method not found.*use a node that is not pruned/,
    );
    await sleep(1500); // more polls, each failing the same way
    assert.equal(calendar.log().filter((l) => l.includes('scantxoutset failed')).length, 1);
    // each poll tries again (reading-utxo-set for the moment the refused call takes): between polls it
    // waits, and it never follows a chain it could not scan
    await waitFor('the follower waiting between its polls', () => {
      const state = calendar.node.anchoring?.status().chainScan.state;
      assert.notEqual(state, 'following');
      return state === 'waiting';
    });
    proxy.heal();
    await scannedToTip(calendar);
    assert.equal(calendar.node.anchoring?.status().lastError, undefined);
  });
});
