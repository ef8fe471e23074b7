/**
 * How far a master can move a slave's deadline (collaborative stamping on litecoind, its own chain:
 * each scenario mines a few dozen blocks). A master that waits for fewer confirmations than the slave
 * moves it with a proof only too shallow yet; a lying one (through the fault injector,
 * test/helpers/faulty-calendar-proxy.ts: naming a new transaction at every poll, publishing a million
 * confirmations) moves it once, never past submission + timeout + max(12, own confirmations) + 1;
 * a reorg that takes the claimed block away puts it back to the first.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { MAX_MASTER_CONFIRMATIONS } from '../../src/anchoring/master-status.js';
import {
  coinbase,
  collaborationOf,
  delegated,
  delegationHeights,
  FAST,
  height,
  masterAndSlave,
  masterTransaction,
  mine,
  ownTransactionBy,
  provedThroughMaster,
  settled,
} from '../helpers/collaboration-scenario.js';
import { ownTransactions } from '../helpers/litecoin-calendar.js';
import { litecoindForFile, litecoindUnavailable } from '../helpers/litecoind.js';
import { requireTools } from '../helpers/require-tools.js';
import { waitFor } from '../helpers/wait-for.js';

const chain = litecoindForFile();

/** The most a delegation made at `h0` waits, whatever its master says: the ceiling. */
const ceilingOf = (h0: number) => h0 + FAST.timeoutBlocks + MAX_MASTER_CONFIRMATIONS + 1;

/**
 * A slave of a master that never stamps, publishes `confirmations` and, once the slave delegated,
 * claims the coinbase of a new block as its transaction: the height of the delegation and that block.
 */
async function claimingMaster(t: TestContext, confirmations: number) {
  const { ltc, proxy, slave } = await masterAndSlave(t, chain, {
    masterStampIntervalMs: 600_000,
    fundMaster: false,
  });
  proxy.publishedConfirmations = confirmations;
  proxy.faults.add('publishes-confirmations');
  await delegated(slave, 1);
  const [h0] = (await delegationHeights(slave)) as [number];
  const [claimed] = (await mine(ltc, 1, slave.miner)) as [string];
  const txid = await coinbase(ltc, claimed);
  proxy.claimedTxid = async () => txid;
  proxy.faults.add('claims-mined');
  return { ltc, slave, h0, claimed };
}

describe("how far a master moves a slave's deadline, on litecoind", () => {
  it('C4: a master that waits for fewer confirmations, mined just before the deadline: its shallow proof moves the deadline, not a miss', async (t) => {
    if (!requireTools(t, litecoindUnavailable())) return;
    // the master proves at 1 confirmation and never says "Timestamped by transaction"; the slave wants 3
    const { ltc, master, proxy, slave } = await masterAndSlave(t, chain, { slaveConfirmations: 3 });
    proxy.faults.add('hides-mined');
    const commitments = await delegated(slave, 1);
    const [h0] = await delegationHeights(slave);
    const deadline = (h0 as number) + FAST.timeoutBlocks;
    await masterTransaction(master);
    // blocks without the master's transaction, then its transaction in the block before the deadline
    while ((await height(ltc)) < deadline - 2) {
      await ltc.rpc.call('generateblock', slave.miner, []);
      await settled(slave);
    }
    await mine(ltc, 1, master.miner);
    await settled(slave);
    // the deadline, with 2 confirmations of the master's block, then the third
    await mine(ltc, 1, slave.miner);
    await settled(slave);
    assert.deepEqual(await ownTransactions(slave), [], 'no own transaction at the first deadline');
    await mine(ltc, 1, slave.miner);
    const status = await provedThroughMaster(slave, commitments);
    assert.equal(status.masters[0]?.consecutive_misses, 0);
    assert.equal(status.masters[0]?.last_error, null);
  });

  it('C7: a lying master naming a new mined transaction at every poll: the deadline moves at most once', async (t) => {
    if (!requireTools(t, litecoindUnavailable())) return;
    // the master never stamps; the proxy names the coinbase of the newest block as its transaction
    const { ltc, proxy, slave } = await masterAndSlave(t, chain, {
      masterStampIntervalMs: 600_000,
      fundMaster: false,
    });
    proxy.claimedTxid = async () => coinbase(ltc, await ltc.rpc.call<string>('getbestblockhash'));
    proxy.faults.add('claims-mined');
    await delegated(slave, 1);
    const [h0] = await delegationHeights(slave);
    const ceiling = ceilingOf(h0 as number);
    const builtAt = await ownTransactionBy(slave, ceiling);
    assert.ok(builtAt <= ceiling, `the own transaction at ${builtAt}, past the ceiling ${ceiling}`);
    assert.ok(slave.log().filter((l) => l.includes('deadline extended')).length <= 1);
  });

  it('C7: a lying master publishing a million confirmations: its deadline moves by at most 12 of them', async (t) => {
    if (!requireTools(t, litecoindUnavailable())) return;
    const { slave, h0 } = await claimingMaster(t, 1_000_000);
    const extended = h0 + 1 + MAX_MASTER_CONFIRMATIONS + 1;
    const builtAt = await ownTransactionBy(slave, ceilingOf(h0));
    assert.equal(builtAt, extended, 'the own transaction at the mined block plus 12 confirmations plus one');
    assert.match(
      slave.log().find((l) => l.includes('deadline extended')) ?? '',
      new RegExp(`"deadline":${extended}[},]`),
    );
    assert.deepEqual((await collaborationOf(slave)).fallbacks, {
      down: 0,
      timeout: 1,
      bad_proof: 0,
      degraded: 0,
    });
  });

  it('C10: a reorg takes away the block holding the transaction a master named: the deadline is the first again', async (t) => {
    if (!requireTools(t, litecoindUnavailable())) return;
    const { ltc, slave, h0, claimed } = await claimingMaster(t, 6);
    const deadline = h0 + FAST.timeoutBlocks;
    await waitFor(
      'the deadline extended',
      () => (slave.log().some((l) => l.includes('deadline extended')) ? true : undefined),
      30_000,
      slave.explain,
    );
    // another block at that height, with another coinbase, becomes the tip
    await ltc.rpc.call('invalidateblock', claimed);
    await mine(ltc, 1, slave.key.address);
    await settled(slave);
    assert.equal(
      await ownTransactionBy(slave, deadline + 6),
      deadline,
      'the own transaction at the first deadline',
    );
    await ltc.rpc.call('reconsiderblock', claimed);
  });

  it('C4: a slave that wants more confirmations than a day of blocks waits for the shallow proof to deepen, and drops no delegation it still waits on', async (t) => {
    if (!requireTools(t, litecoindUnavailable())) return;
    // the master proves at 1 confirmation; the slave wants 150, more than the late-proof window (144)
    const confirmations = 150;
    const { ltc, master, proxy, slave } = await masterAndSlave(t, chain, {
      slaveConfirmations: confirmations,
    });
    proxy.faults.add('hides-mined');
    const commitments = await delegated(slave, 1);
    const [h0] = await delegationHeights(slave);
    const deadline = (h0 as number) + FAST.timeoutBlocks;
    await masterTransaction(master);
    while ((await height(ltc)) < deadline - 2) {
      await ltc.rpc.call('generateblock', slave.miner, []);
      await settled(slave);
    }
    const [minedIn] = await mine(ltc, 1, master.miner);
    const minedAt = (await ltc.rpc.call<{ height: number }>('getblockheader', minedIn)).height;
    await settled(slave);
    // empty blocks until the master's block is deep enough, past the first deadline's late window
    for (let left = confirmations - 1; left > 0; left = minedAt + confirmations - 1 - (await height(ltc)))
      await ltc.rpc.call('generatetoaddress', Math.min(10, left), slave.miner);
    await settled(slave);
    assert.ok((await height(ltc)) > deadline + 144, 'past the first deadline and its late window');
    await provedThroughMaster(slave, commitments);
    assert.equal((await delegationHeights(slave)).length, 1, 'delegated once, never again');
  });
});
