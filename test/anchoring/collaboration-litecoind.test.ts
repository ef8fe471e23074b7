/**
 * Collaborative stamping on real nodes (design scenarios C1-C11): otsd calendars on one litecoind
 * chain, a slave whose master is another otsd calendar behind a fault injector
 * (test/helpers/faulty-calendar-proxy.ts). Blocks are mined on demand, so each deadline is reached at
 * a chosen moment. Every proof a slave serves is checked against the node, with python-opentimestamps
 * where it counts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { COLLABORATION_CANNOT_PAY_WARNING } from '../../src/daemon/calendar-status.js';
import {
  BitcoinBlockHeaderAttestation,
  BlockHeader,
  DetachedTimestampFile,
  fromHex,
  PendingAttestation,
  Timestamp,
  toHex,
} from '../../src/ots/index.js';
import { runCliAsync } from '../cli/run-cli.js';
import { runJsClient, runPython } from '../clients/run-client.js';
import { startTestNode } from '../helpers/calendar-node.js';
import { startCalendarProcess } from '../helpers/calendar-process.js';
import {
  type CollaborationJson,
  collaborationOf,
  delegated,
  delegationHeights,
  FAST,
  height,
  masterAndSlave,
  masterTransaction,
  mine,
  mineMasterTransactions,
  mineUntilProved,
  needs,
  proofRecords,
  provedThroughMaster,
  pythonHeights,
  served,
  settled,
} from '../helpers/collaboration-scenario.js';
import { startFaultyCalendarProxy } from '../helpers/faulty-calendar-proxy.js';
import { freePorts } from '../helpers/free-port.js';
import {
  allProved,
  ownTransactionSent,
  ownTransactions,
  startLitecoinCalendar,
} from '../helpers/litecoin-calendar.js';
import { litecoindForFile } from '../helpers/litecoind.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';

const chain = litecoindForFile();

describe('collaborative stamping on litecoind', () => {
  it('C1: the slave spends nothing; its proofs go through the master transaction and verify', async (t) => {
    if (!needs(t)) return;
    const { ltc, master, slave } = await masterAndSlave(t, chain);
    const balance = await waitFor(
      'the slave funded',
      () => slave.node.anchoring?.status().balanceSats || undefined,
    );
    // a client of the slave, with the npm client
    const js = await runJsClient<{ stamped: string }>([slave.node.url]);
    const commitments = await delegated(slave, 2);
    // the slave's tips reach the master a cycle apart or together, as the machine's load has it
    const minedTransactions = await mineMasterTransactions(master);
    await waitFor('the slave proofs', () => allProved(slave.node, commitments), 30_000, slave.explain);
    const heights = await pythonHeights(slave, commitments);
    for (const [at] of heights) assert.ok(at !== undefined && minedTransactions.has(at), String(heights));
    assert.deepEqual(
      heights.map((h) => h.length),
      [1, 1],
    );
    assert.deepEqual(await ownTransactions(slave), [], 'the slave made no transaction');
    assert.equal(slave.node.anchoring?.status().balanceSats, balance);
    assert.equal(slave.node.anchoring?.status().feesSpentSats, 0);
    for (const [at, txid] of minedTransactions) {
      const block = await ltc.rpc.call<{ tx: string[] }>(
        'getblock',
        await ltc.rpc.call('getblockhash', at),
        1,
      );
      assert.ok(block.tx.includes(txid), `the master's transaction ${txid} in block ${at}`);
    }
    // the npm client upgrades through the slave to a block of the master's transactions
    const upgraded = await runJsClient<{ upgraded: boolean; after: string }>([slave.node.url, js.stamped]);
    assert.equal(upgraded.upgraded, true);
    const file = DetachedTimestampFile.fromBytes(fromHex(upgraded.after));
    const attestations = [...file.timestamp.allAttestations()].filter(
      ([, a]) => a instanceof BitcoinBlockHeaderAttestation,
    );
    assert.equal(attestations.length, 1);
    const [msg, attestation] = attestations[0] as [Uint8Array, BitcoinBlockHeaderAttestation];
    assert.ok(minedTransactions.has(attestation.height));
    const header = new BlockHeader(
      fromHex(
        await ltc.rpc.call<string>(
          'getblockheader',
          await ltc.rpc.call('getblockhash', attestation.height),
          false,
        ),
      ),
    );
    assert.equal(toHex(header.merkleRoot), toHex(msg));
    const status = await collaborationOf(slave);
    assert.deepEqual(status.fallbacks, { down: 0, timeout: 0, bad_proof: 0, degraded: 0 });
    assert.equal(status.masters[0]?.state, 'ok');
    assert.equal(status.delegations_in_flight, 0);
    // a mirror of the slave checks its delegation and the proof against the node, and answers alike
    const mirror = await startTestNode(t, {
      mirrorOf: slave.node.url,
      bitcoin: {
        network: 'litecoin-regtest',
        rpc: { url: ltc.rpcUrl },
        minConfirmations: 1,
        stampIntervalMs: 1000,
      },
    });
    await waitFor(
      'the mirror caught up',
      () =>
        mirror.calendar.journal.head.records === slave.node.calendar.journal.head.records ? true : undefined,
      30_000,
    );
    assert.deepEqual(await served(mirror.url, commitments), await served(slave.node.url, commitments));
  });
  it('C2: a master that is down: the own transaction at the first cycle, counted as down', async (t) => {
    if (!needs(t)) return;
    const { ltc, proxy, slave } = await masterAndSlave(t, chain, { metrics: true });
    proxy.faults.add('down');
    const commitments = [await slave.postDigest()];
    await ownTransactionSent(slave);
    const status = await collaborationOf(slave);
    assert.deepEqual(status.fallbacks, { down: 1, timeout: 0, bad_proof: 0, degraded: 0 });
    const metrics = await (await fetch(slave.node.metricsUrl as string)).text();
    assert.match(metrics, /^otsd_master_fallbacks_total\{reason="down"\} 1$/m);
    assert.match(metrics, /^otsd_master_submissions_total\{master="[^"]+",outcome="failed"\} 1$/m);
    assert.match(metrics, /^otsd_master_state\{master="[^"]+",state="down"\} 1$/m);
    // cycles go on (every 100 ms here), but what the own transaction covers is not offered again
    const asked = proxy.requests.length;
    await sleep(1000);
    assert.equal(proxy.requests.length, asked);
    assert.equal((await collaborationOf(slave)).fallbacks.down, 1);
    assert.equal(status.masters[0]?.state, 'down');
    assert.equal(status.delegations_in_flight, 0);
    await mine(ltc, 1, slave.miner);
    await waitFor('the own proof', () => allProved(slave.node, commitments), 30_000, slave.explain);
  });

  it('C3: a master too slow: the own transaction exactly at the deadline, not a block earlier', async (t) => {
    if (!needs(t)) return;
    // the master stamps every ten minutes or so: never within the test
    const { ltc, slave } = await masterAndSlave(t, chain, { masterStampIntervalMs: 600_000 });
    const commitments = await delegated(slave, 1);
    const [h0] = await delegationHeights(slave);
    const deadline = (h0 as number) + FAST.timeoutBlocks;
    while ((await height(ltc)) < deadline - 1) {
      await mine(ltc, 1, slave.miner);
      await settled(slave);
      assert.deepEqual(await ownTransactions(slave), [], `no own transaction at height ${await height(ltc)}`);
    }
    await mine(ltc, 1, slave.miner);
    const txid = await ownTransactionSent(slave);
    const tx = await ltc.rpc.call<{ locktime: number }>('getrawtransaction', txid, true);
    assert.equal(tx.locktime, deadline, 'built at the deadline');
    assert.deepEqual((await collaborationOf(slave)).fallbacks, {
      down: 0,
      timeout: 1,
      bad_proof: 0,
      degraded: 0,
    });
    await mine(ltc, 1, slave.miner);
    await waitFor('the own proof', () => allProved(slave.node, commitments), 30_000, slave.explain);
  });

  it('C4: a master mined, not yet confirmed at the deadline: the deadline moves, the proof comes through it', async (t) => {
    if (!needs(t)) return;
    // the master waits for 3 confirmations; the slave for 2 blocks after submission
    const { ltc, master, slave } = await masterAndSlave(t, chain, {
      masterConfirmations: 3,
      slave: { timeoutBlocks: 2 },
    });
    const commitments = await delegated(slave, 1);
    const [h0] = await delegationHeights(slave);
    await masterTransaction(master);
    await mine(ltc, 1, master.miner);
    await waitFor(
      'the deadline extended',
      () => (slave.log().some((l) => l.includes('deadline extended')) ? true : undefined),
      30_000,
      slave.explain,
    );
    // past the first deadline, and on to the master's third confirmation
    await mine(ltc, 2, master.miner);
    assert.ok((await height(ltc)) >= (h0 as number) + 2);
    await provedThroughMaster(slave, commitments);
  });

  it('C5: a master back after misses: waited on again once it proves in time, and the slave stops paying', async (t) => {
    if (!needs(t)) return;
    const { ltc, master, proxy, slave } = await masterAndSlave(t, chain);
    proxy.faults.add('down');
    const alone: string[] = [];
    for (let miss = 1; miss <= 3; miss++) {
      alone.push(await slave.postDigest());
      await waitFor(
        `miss ${miss}`,
        async () => (((await collaborationOf(slave)).fallbacks.down ?? 0) >= miss ? true : undefined),
        30_000,
        slave.explain,
      );
    }
    assert.equal((await collaborationOf(slave)).masters[0]?.state, 'degraded');
    await ownTransactionSent(slave);
    await mineUntilProved(slave, alone);
    // back: given the tip at once, not waited on yet, so the own transaction goes too and proves it
    // first; the master's proof, in time, makes it waited on again
    proxy.faults.clear();
    proxy.faults.add('hold-proofs');
    const back = await slave.postDigest();
    await waitFor(
      'the tip given to the degraded master',
      async () => ((await collaborationOf(slave)).fallbacks.degraded === 1 ? true : undefined),
      30_000,
      slave.explain,
    );
    await ownTransactionSent(slave);
    await masterTransaction(master);
    await mine(ltc, 1, master.miner);
    await waitFor('the own proof', () => allProved(slave.node, [back]), 30_000, slave.explain);
    proxy.release();
    await waitFor(
      'the master waited on again',
      async () => ((await collaborationOf(slave)).masters[0]?.state === 'ok' ? true : undefined),
      30_000,
      slave.explain,
    );
    await waitFor('nothing in flight', () => (slave.node.anchoring?.status().inFlight ? undefined : true));
    const paid = (await ownTransactions(slave)).length;
    const later = await delegated(slave, 1);
    await mineMasterTransactions(master);
    await waitFor('the proof through the master', () => allProved(slave.node, later), 30_000, slave.explain);
    assert.equal((await ownTransactions(slave)).length, paid, 'no own transaction once the master is back');
    assert.equal((await collaborationOf(slave)).masters[0]?.consecutive_misses, 0);
  });

  it('C6: both transactions confirm: the first proof written is served and never changes', async (t) => {
    if (!needs(t)) return;
    const { ltc, master, proxy, slave } = await masterAndSlave(t, chain, { slave: { timeoutBlocks: 2 } });
    // the master's proofs are held back from the slave until after its deadline
    proxy.faults.add('hold-proofs');
    const commitments = await delegated(slave, 2);
    await masterTransaction(master);
    // to the deadline (a block later when the slave saw the master's transaction mined before its
    // proof was written, and so gave it its confirmation)
    for (let block = 0; block < 3 && (await ownTransactions(slave)).length === 0; block++) {
      await mine(ltc, 1, master.miner);
      await settled(slave);
    }
    await ownTransactionSent(slave);
    // the master's proof reaches the slave while its own transaction is in flight: written first
    proxy.release();
    await waitFor(
      'the proof through the master',
      () => allProved(slave.node, commitments),
      30_000,
      slave.explain,
    );
    const first = await served(slave.node.url, commitments);
    const proofs = await proofRecords(slave);
    await mine(ltc, 1, slave.miner);
    await waitFor(
      'the own transaction ended',
      () => (slave.node.calendar.index.openStamps().length === 0 ? true : undefined),
      30_000,
      slave.explain,
    );
    assert.equal(await proofRecords(slave), proofs, 'the own proof adds nothing: not written');
    assert.deepEqual(await served(slave.node.url, commitments), first);
    assert.ok(slave.log().some((l) => l.includes('another proved every commitment first')));
    assert.deepEqual((await collaborationOf(slave)).fallbacks, {
      down: 0,
      timeout: 1,
      bad_proof: 0,
      degraded: 0,
    });
  });

  for (const [fault, problem] of [
    [
      'foreign-header',
      /the attestation of block \d+ is not the merkle root of that block in this calendar's chain/,
    ],
    ['oversized', /the proof through block \d+ is \d+ bytes, over 8000/],
    ['too-deep', /the path to block \d+ is \d+ ops long, over 120/],
  ] as const) {
    it(`C7: a lying master (${fault}): its proof refused, counted, and the own transaction at the deadline`, async (t) => {
      if (!needs(t)) return;
      const { ltc, master, proxy, slave } = await masterAndSlave(t, chain, { slave: { timeoutBlocks: 3 } });
      proxy.faults.add(fault);
      const commitments = await delegated(slave, 1);
      await masterTransaction(master);
      await mine(ltc, 1, master.miner);
      await waitFor(
        'the proof refused',
        () => (slave.log().some((l) => l.includes('proof refused') && problem.test(l)) ? true : undefined),
        30_000,
        slave.explain,
      );
      assert.equal(slave.node.calendar.index.pendingCount, 1);
      await mine(ltc, 2, master.miner);
      await ownTransactionSent(slave);
      const status = await collaborationOf(slave);
      assert.deepEqual(status.fallbacks, { down: 0, timeout: 0, bad_proof: 1, degraded: 0 });
      assert.match(status.masters[0]?.last_error ?? '', problem);
      await mine(ltc, 1, slave.miner);
      await waitFor('the own proof', () => allProved(slave.node, commitments), 30_000, slave.explain);
    });
  }

  it('C7: a lying master (an answer for another tip): refused at once, the own transaction at the first cycle', async (t) => {
    if (!needs(t)) return;
    const { proxy, slave } = await masterAndSlave(t, chain);
    proxy.faults.add('wrong-tip');
    await slave.postDigest();
    await ownTransactionSent(slave);
    const status = await collaborationOf(slave);
    assert.deepEqual(status.fallbacks, { down: 1, timeout: 0, bad_proof: 0, degraded: 0 });
    assert.match(status.masters[0]?.last_error ?? '', /which it does not know/);
    assert.deepEqual(await delegationHeights(slave), [], 'nothing journaled');
  });

  it('C8: two masters, one down: the proof from the other, no fallback; a master that publishes no status is a leaf', async (t) => {
    if (!needs(t)) return;
    const ltc = await chain();
    const master = await startLitecoinCalendar(t, { ltc, minConfirmations: 1 });
    const down = await startFaultyCalendarProxy(t, master.node.url);
    down.faults.add('down');
    const healthy = await startFaultyCalendarProxy(t, master.node.url);
    healthy.faults.add('no-status');
    const slave = await startLitecoinCalendar(t, {
      ltc,
      minConfirmations: 1,
      collaboration: { masters: [down.url, healthy.url], ...FAST },
    });
    const commitments = await delegated(slave, 1);
    await masterTransaction(master);
    await mine(ltc, 1, master.miner);
    const status = await provedThroughMaster(slave, commitments, 'the proof through the healthy master');
    assert.deepEqual(
      status.masters.map((m) => m.state),
      ['down', 'ok'],
    );
  });

  it('C9: a slave killed (kill -9) between delegation and proof asks again after a restart, deadline from the journal', async (t) => {
    if (!needs(t)) return;
    const ltc = await chain();
    const master = await startLitecoinCalendar(t, { ltc, minConfirmations: 1 });
    const proxy = await startFaultyCalendarProxy(t, master.node.url);
    const dataDir = tempDir(t);
    const [port, metricsPort] = (await freePorts(2)) as [number, number];
    const args = [
      ...['--bitcoin-rpc', ltc.rpcUrl, '--bitcoin-network', 'litecoin-regtest', '--min-confirmations', '1'],
      ...[
        '--bitcoin-scan-from',
        String(await height(ltc)),
        '--stamp-interval',
        '1',
        '--round-interval',
        '50',
      ],
      ...['--master', proxy.url, '--master-timeout-blocks', '4'],
      ...['--master-poll-interval', '200', '--master-request-timeout', '2000', '--log-level', 'info'],
      ...['--metrics-listen', `127.0.0.1:${metricsPort}`],
    ];
    let slave = await startCalendarProcess(dataDir, args, port);
    t.after(() => slave.stop('SIGKILL'));
    const digest = crypto.getRandomValues(new Uint8Array(32));
    const answer = await fetch(`${slave.url}/digest`, { method: 'POST', body: digest });
    const pending = Timestamp.fromBytes(digest, new Uint8Array(await answer.arrayBuffer())).shortestPathTo(
      (a) => a instanceof PendingAttestation,
    );
    const commitment = toHex(pending?.msg as Uint8Array);
    const inFlight = async () =>
      (
        (await (await fetch(slave.url, { headers: { accept: 'application/json' } })).json()) as {
          collaboration: CollaborationJson;
        }
      ).collaboration.delegations_in_flight;
    await waitFor(
      'the delegation',
      async () => ((await inFlight()) === 1 ? true : undefined),
      30_000,
      slave.output,
    );
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    assert.match(metrics, /^otsd_master_submissions_total\{master="[^"]+",outcome="accepted"\} 1$/m);
    assert.match(metrics, /^otsd_master_delegations_in_flight 1$/m);
    assert.match(metrics, /^otsd_master_state\{master="[^"]+",state="ok"\} 1$/m);
    const summary = await runCliAsync(['status', '--url', slave.url]);
    assert.match(summary.stdout, /^master {7}http:\/\/127\.0\.0\.1:\d+: ok, 1 open$/m);
    assert.match(
      summary.stdout,
      /^delegations {2}1 in flight, 1 commitments waiting on a master until block \d+$/m,
    );
    assert.match(
      summary.stdout,
      /^fallbacks {4}down 0, timeout 0, bad_proof 0, degraded 0; the fallback CANNOT PAY/m,
    );
    const h0 = await height(ltc);
    await masterTransaction(master);
    assert.equal(await slave.stop('SIGKILL'), 'SIGKILL');
    await mine(ltc, 1, master.miner);
    slave = await startCalendarProcess(dataDir, args, port);
    await waitFor(
      'the proof through the master',
      async () => ((await fetch(`${slave.url}/timestamp/${commitment}`)).status === 200 ? true : undefined),
      30_000,
      slave.output,
    );
    assert.match(slave.output(), new RegExp(`"deadline":${h0 + 4}[},]`), 'the deadline from the journal');
    const verified = (await runPython('python_verify.py', [slave.url, ltc.rpcUrl, commitment])) as {
      verified: { height: number }[];
    }[];
    assert.deepEqual(
      verified.map((v) => v.verified.map((x) => x.height)),
      [[h0 + 1]],
    );
    await slave.stop();
  });

  it('C10: a reorg takes the master block away: its proof is refused until the chain has that block again', async (t) => {
    if (!needs(t)) return;
    const { ltc, master, proxy, slave } = await masterAndSlave(t, chain, { slave: { timeoutBlocks: 6 } });
    proxy.faults.add('hold-proofs');
    const commitments = await delegated(slave, 1);
    await masterTransaction(master);
    const [first] = await mine(ltc, 1, master.miner);
    await waitFor(
      "the master's proof",
      () => (master.node.calendar.index.pendingCount === 0 ? true : undefined),
      30_000,
      master.explain,
    );
    // another block at the same height becomes the tip; the master's proof names the first
    await ltc.rpc.call('invalidateblock', first);
    // mined to another address: another coinbase, so not the block invalidated
    const [other] = await mine(ltc, 1, master.key.address);
    await settled(slave);
    proxy.release();
    await waitFor(
      'the proof refused',
      () =>
        slave.log().some((l) => l.includes('proof refused') && l.includes('not the merkle root'))
          ? true
          : undefined,
      30_000,
      slave.explain,
    );
    assert.equal(slave.node.calendar.index.pendingCount, 1);
    // the first block back in the best chain
    await ltc.rpc.call('reconsiderblock', first);
    await ltc.rpc.call('invalidateblock', other);
    await waitFor('the proof', () => allProved(slave.node, commitments), 30_000, slave.explain);
    assert.deepEqual(await ownTransactions(slave), []);
    await ltc.rpc.call('reconsiderblock', other);
  });

  it('C11: two calendars each the master of the other: both refuse the cycle, say so once, and stamp alone', async (t) => {
    if (!needs(t)) return;
    const ltc = await chain();
    const [portA, portB] = (await freePorts(2)) as [number, number];
    const masterOf = (port: number) => ({ masters: [`http://127.0.0.1:${port}`], ...FAST });
    const a = await startLitecoinCalendar(t, {
      ltc,
      minConfirmations: 1,
      port: portA,
      collaboration: masterOf(portB),
    });
    const b = await startLitecoinCalendar(t, {
      ltc,
      minConfirmations: 1,
      port: portB,
      collaboration: masterOf(portA),
    });
    const commitments = [await a.postDigest(), await b.postDigest()];
    for (const calendar of [a, b]) await ownTransactionSent(calendar);
    // cycles go on while the transactions are in flight: the refusal is said once
    await sleep(1000);
    await mine(ltc, 1, a.miner);
    for (const [i, calendar] of [a, b].entries()) {
      await waitFor(
        'the own proof',
        () => allProved(calendar.node, [commitments[i] as string]),
        30_000,
        calendar.explain,
      );
      const status = await collaborationOf(calendar);
      assert.equal(status.masters[0]?.state, 'cycle');
      assert.deepEqual(status.fallbacks, { down: 0, timeout: 0, bad_proof: 0, degraded: 0 });
      assert.deepEqual(await delegationHeights(calendar), []);
      assert.equal(calendar.log().filter((l) => l.includes('would close a cycle')).length, 1);
    }
  });

  it('a calendar with an empty wallet is anchored through its master alone, and says its fallback cannot pay', async (t) => {
    if (!needs(t)) return;
    const { ltc, master, slave } = await masterAndSlave(t, chain, { fundSlave: false });
    const commitments = await delegated(slave, 1);
    await masterTransaction(master);
    await mine(ltc, 1, master.miner);
    await waitFor(
      'the proof through the master',
      () => allProved(slave.node, commitments),
      30_000,
      slave.explain,
    );
    const status = (await (
      await fetch(slave.node.url, { headers: { accept: 'application/json' } })
    ).json()) as {
      warnings: string[];
      collaboration: CollaborationJson;
    };
    assert.equal(status.collaboration.fallback_can_pay, false);
    assert.ok(status.warnings.includes(COLLABORATION_CANNOT_PAY_WARNING));
    const page = await (await fetch(`${slave.node.url}/status`)).text();
    assert.match(page, /cannot pay: no spendable coin/);
  });
});
