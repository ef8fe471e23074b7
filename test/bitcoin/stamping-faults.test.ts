/**
 * Stamping when things go wrong, on a real litecoind: a reorg that removes the block holding our
 * transaction, the node going away and coming back, a broadcast refused for its fee, fee caps, and the
 * key's coin spent by someone else's transaction.
 * No commitment is lost and no cap is passed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { NETWORKS } from '../../src/bitcoin/network.js';
import { buildStampTx } from '../../src/bitcoin/stamp-tx.js';
import { walletKeyFromPrivate } from '../../src/bitcoin/wallet-key.js';
import { RecordKind } from '../../src/journal/record.js';
import { decodeStampEndPayload, StampOutcome } from '../../src/journal/stamp-end-payload.js';
import { fromHex, reverseBytes, toHex } from '../../src/ots/index.js';
import { allProved, startLitecoinCalendar } from '../helpers/litecoin-calendar.js';
import { litecoindUnavailable } from '../helpers/litecoind.js';
import { recordsOf } from '../helpers/record-fields.js';
import { requireTools } from '../helpers/require-tools.js';
import { waitFor } from '../helpers/wait-for.js';

describe('stamping faults on litecoind', () => {
  it('keeps to the daily spend cap, across a restart', async (t) => {
    if (!requireTools(t, litecoindUnavailable())) return;
    // one transaction at 20 sat/vB costs about 3,100 sat: the cap allows one a day, not two
    const calendar = await startLitecoinCalendar(t, { minConfirmations: 1, fees: { maxSpendPerDay: 5000 } });
    const first = [await calendar.postDigest()];
    await waitFor('a stamping transaction', async () => (await calendar.mempool())[0]);
    await calendar.ltc.rpc.call('generatetoaddress', 1, calendar.miner);
    await waitFor('the first proof', () => allProved(calendar.node, first), 30_000, calendar.explain);
    await calendar.postDigest();
    await waitFor('the cap', () =>
      calendar.node.anchoring?.status().lastError?.includes('daily spend cap') ? true : undefined,
    );
    const node = await calendar.restart();
    await waitFor('the cap after the restart', () =>
      node.anchoring?.status().lastError?.includes('daily spend cap') ? true : undefined,
    );
    assert.deepEqual(await calendar.mempool(), []);
    assert.equal(node.calendar.index.pendingCount, 1);
  });

  it('finds its funds after a restart with a rebuilt index in the change of its last transaction, however late the scan starts', async (t) => {
    if (!requireTools(t, litecoindUnavailable())) return;
    const calendar = await startLitecoinCalendar(t, { minConfirmations: 1 });
    const first = [await calendar.postDigest()];
    const spent = await waitFor('a stamping transaction', async () => (await calendar.mempool())[0]);
    await calendar.ltc.rpc.call('generatetoaddress', 1, calendar.miner);
    await waitFor('the first proof', () => allProved(calendar.node, first), 30_000, calendar.explain);
    // long after, a restart with no saved scan (the index rebuilt from the journal), told to scan only
    // recent blocks: the change output is older than that
    await calendar.ltc.rpc.call('generatetoaddress', 20, calendar.miner);
    const tip = await calendar.ltc.rpc.call<number>('getblockcount');
    const node = await calendar.restart({
      scanFromHeight: tip,
      rebuildIndex: true,
    });
    const second = [await calendar.postDigest()];
    const next = await waitFor('a second stamping transaction', async () => (await calendar.mempool())[0]);
    const tx = await calendar.ltc.rpc.call<{ vin: { txid: string }[] }>('getrawtransaction', next, true);
    assert.equal(tx.vin[0]?.txid, spent);
    await calendar.ltc.rpc.call('generatetoaddress', 1, calendar.miner);
    await waitFor('the second proof', () => allProved(node, second), 30_000, calendar.explain);
  });

  it('a stamp whose input another transaction spent ends as abandoned, and a new one covers its commitments', async (t) => {
    if (!requireTools(t, litecoindUnavailable())) return;
    const calendar = await startLitecoinCalendar(t, { minConfirmations: 1 });
    const commitments = [await calendar.postDigest()];
    const ours = await waitFor('a stamping transaction', async () => (await calendar.mempool())[0]);
    // the calendar's key used elsewhere: a transaction of someone else's spends the same coin, pays
    // more (a BIP125 replacement), and is mined
    const { vin } = await calendar.ltc.rpc.call<{ vin: { txid: string; vout: number }[] }>(
      'getrawtransaction',
      ours,
      true,
    );
    const spent = vin[0] as { txid: string; vout: number };
    const funding = await calendar.ltc.rpc.call<{ vout: { value: number }[] }>(
      'getrawtransaction',
      spent.txid,
      true,
    );
    const foreign = buildStampTx({
      input: {
        txid: reverseBytes(fromHex(spent.txid)),
        index: spent.vout,
        value: BigInt(Math.round((funding.vout[spent.vout] as { value: number }).value * 1e8)),
      },
      tip: crypto.getRandomValues(new Uint8Array(32)),
      feeRate: 200,
      lockTime: 0,
      key: calendar.key,
    });
    await calendar.ltc.rpc.call('sendrawtransaction', toHex(foreign.raw));
    await calendar.ltc.rpc.call('generatetoaddress', 1, calendar.miner);
    const next = await waitFor(
      'a new stamping transaction',
      async () => (await calendar.mempool())[0],
      30_000,
      calendar.explain,
    );
    assert.notEqual(next, ours);
    const records = await recordsOf(calendar.node.calendar.journal);
    const ends = records
      .filter((r) => r.kind === RecordKind.StampEnd)
      .map((r) => decodeStampEndPayload(r.payload));
    assert.deepEqual(
      ends.map((e) => e.outcome),
      [StampOutcome.Abandoned],
    );
    assert.equal(records[ends[0]?.stamp as number]?.kind, RecordKind.Stamp);
    await calendar.ltc.rpc.call('generatetoaddress', 1, calendar.miner);
    await waitFor('the proof', () => allProved(calendar.node, commitments), 30_000, calendar.explain);
    // the stamp's end follows its proof (stamper.ts writeProof: a crash between them leaves it open)
    await waitFor(
      'the stamp ended',
      () => (calendar.node.calendar.index.openStamps().length === 0 ? true : undefined),
      30_000,
      calendar.explain,
    );
  });

  it('a reorg that removes the mined block: the proof comes from the block that replaces it', async (t) => {
    if (!requireTools(t, litecoindUnavailable())) return;
    const { ltc, node, miner, mempool, postDigest, explain } = await startLitecoinCalendar(t, {
      minConfirmations: 3,
    });
    const commitments = [await postDigest(), await postDigest()];
    const txid = await waitFor('a stamping transaction', async () => (await mempool())[0]);
    const [orphaned] = await ltc.rpc.call<string[]>('generatetoaddress', 1, miner);
    await waitFor('the stamper to see it mined', () =>
      node.anchoring?.status().inFlight?.confirmations === 1 ? true : undefined,
    );
    await ltc.rpc.call('invalidateblock', orphaned);
    // mine the replacement chain to another address, or the new block would be the invalidated one again
    const otherMiner = walletKeyFromPrivate(new Uint8Array(32).fill(8), NETWORKS['litecoin-regtest']).address;
    await waitFor('the stamper to see the reorg', () =>
      node.anchoring?.status().inFlight?.confirmations === 0 ? true : undefined,
    );
    assert.equal((await allProved(node, commitments)) ?? false, false);
    await ltc.rpc.call('generatetoaddress', 3, otherMiner);
    await waitFor('proofs from the new chain', () => allProved(node, commitments), 30_000, explain);
    const found = await node.calendar.lookup(Buffer.from(commitments[0] as string, 'hex'));
    assert.equal(found.state, 'found');
    const replacement = await ltc.rpc.call<string>('getblockhash', 102);
    assert.notEqual(replacement, orphaned);
    const block = await ltc.rpc.call<{ tx: string[] }>('getblock', replacement, 1);
    assert.ok(block.tx.includes(txid), 'the stamping transaction is in the replacing block');
    if (found.state === 'found') {
      const heights = [...found.timestamp.allAttestations()].map(([, a]) => String(a));
      assert.deepEqual(heights, ['BitcoinBlockHeaderAttestation(102)']);
    }
  });

  it('keeps taking digests while the node is down, and stamps them once it is back', async (t) => {
    if (!requireTools(t, litecoindUnavailable())) return;
    const { ltc, node, miner, postDigest, explain } = await startLitecoinCalendar(t, { minConfirmations: 1 });
    await ltc.stop();
    const commitments = [await postDigest(), await postDigest()];
    await waitFor('the stamper to report the node', () =>
      node.anchoring?.status().lastError ? true : undefined,
    );
    commitments.push(await postDigest());
    await ltc.restart();
    await waitFor('a stamping transaction', async () => (await ltc.rpc.call<string[]>('getrawmempool'))[0]);
    await ltc.rpc.call('generatetoaddress', 1, miner);
    await waitFor('every commitment proved', () => allProved(node, commitments), 30_000, explain);
  });

  it('a broadcast refused for its fee is replaced on the next block, within the caps', async (t) => {
    if (!requireTools(t, litecoindUnavailable())) return;
    // 0.5 sat/vB is under litecoind's 1 sat/vB relay minimum: the first version is refused
    const { ltc, node, miner, mempool, postDigest, explain } = await startLitecoinCalendar(t, {
      minConfirmations: 1,
      fees: { feeRate: 0.5, bumpFactor: 1.25, minBump: 1 },
    });
    const commitments = [await postDigest()];
    await waitFor('the refusal', () =>
      node.anchoring?.status().lastError?.includes('min relay fee') ? true : undefined,
    );
    assert.deepEqual(await mempool(), []);
    await ltc.rpc.call('generateblock', miner, []);
    await waitFor('an accepted replacement', async () => (await mempool())[0]);
    // mine until the proof: one block should do; a few more only tolerate a slow poll under load
    await waitFor(
      'the proof',
      async () => {
        if (await allProved(node, commitments)) return true;
        if ((await mempool()).length > 0) await ltc.rpc.call('generatetoaddress', 1, miner);
        await sleep(500);
        return undefined;
      },
      60_000,
      explain,
    );
    assert.ok((node.anchoring?.status().feesSpentSats ?? 0) < 100_000);
  });

  it('sends nothing past the per-transaction fee cap, and says so', async (t) => {
    if (!requireTools(t, litecoindUnavailable())) return;
    const { node, mempool, postDigest } = await startLitecoinCalendar(t, {
      fees: { maxFeePerTx: 1000 },
    });
    await postDigest();
    await waitFor('the cap to be reported', () =>
      node.anchoring?.status().lastError?.includes('per-transaction cap') ? true : undefined,
    );
    await sleep(500);
    assert.deepEqual(await mempool(), []);
    assert.equal(node.calendar.index.pendingCount, 1);
    assert.equal(node.calendar.index.openStamps().length, 0, 'nothing journaled for broadcast');
  });
});
