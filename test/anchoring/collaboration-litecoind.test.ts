/**
 * Collaborative stamping on real nodes (design scenarios C1-C11): otsd calendars on one litecoind
 * chain, a slave whose master is another otsd calendar behind a fault injector
 * (test/helpers/faulty-calendar-proxy.ts). Blocks are mined on demand, so each deadline is reached at
 * a chosen moment. Every proof a slave serves is checked against the node, with python-opentimestamps
 * where it counts.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it, type TestContext } from 'node:test';
import type { CollaborationSettings } from '../../src/daemon/stamping-role.js';
import { RecordKind } from '../../src/journal/record.js';
import { decodeStampPayload } from '../../src/journal/stamp-payload.js';
import {
  BitcoinBlockHeaderAttestation,
  BlockHeader,
  DetachedTimestampFile,
  fromHex,
  parseTransaction,
  reverseBytes,
  toHex,
} from '../../src/ots/index.js';
import { CLIENTS_DIR, runJsClient, runPython } from '../clients/run-client.js';
import { type FaultyCalendarProxy, startFaultyCalendarProxy } from '../helpers/faulty-calendar-proxy.js';
import { allProved, type LitecoinCalendar, startLitecoinCalendar } from '../helpers/litecoin-calendar.js';
import { type Litecoind, litecoindForFile, litecoindUnavailable } from '../helpers/litecoind.js';
import { requireTools } from '../helpers/require-tools.js';
import { waitFor } from '../helpers/wait-for.js';
import { oracleUnavailable } from '../oracle/python-oracle.js';

const chain = litecoindForFile();

/** Deadlines of a few blocks; masters asked every 200 ms besides every block. */
const FAST: Omit<CollaborationSettings, 'masters'> = {
  timeoutBlocks: 4,
  requestTimeoutMs: 2000,
  pollIntervalMs: 200,
};

interface CollaborationJson {
  masters: {
    url: string;
    state: string;
    consecutive_misses: number;
    open_delegations: number;
    last_error: string | null;
  }[];
  delegations_in_flight: number;
  waiting_commitments: number;
  fallbacks: Record<string, number>;
  fallback_can_pay: boolean;
}

async function collaborationOf(calendar: LitecoinCalendar): Promise<CollaborationJson> {
  const res = await fetch(calendar.node.url, { headers: { accept: 'application/json' } });
  return ((await res.json()) as { collaboration: CollaborationJson }).collaboration;
}

const mine = (ltc: Litecoind, blocks: number, miner: string) =>
  ltc.rpc.call<string[]>('generatetoaddress', blocks, miner);
const height = (ltc: Litecoind) => ltc.rpc.call<number>('getblockcount');

/** The calendar's own stamping transactions: the txids of its stamp records. */
async function ownTransactions(calendar: LitecoinCalendar): Promise<string[]> {
  const txids: string[] = [];
  for await (const record of calendar.node.calendar.journal.read()) {
    if (record.kind === RecordKind.Stamp)
      txids.push(toHex(reverseBytes(parseTransaction(decodeStampPayload(record.payload).rawTx).txid)));
  }
  return txids;
}

/** A master (an otsd calendar stamping every 100 ms) behind a fault injector, and a slave of it. */
async function masterAndSlave(
  t: TestContext,
  o: { masterStampIntervalMs?: number; slave?: Partial<CollaborationSettings>; fundSlave?: boolean } = {},
): Promise<{
  ltc: Litecoind;
  master: LitecoinCalendar;
  proxy: FaultyCalendarProxy;
  slave: LitecoinCalendar;
}> {
  const ltc = await chain();
  const master = await startLitecoinCalendar(t, {
    ltc,
    minConfirmations: 1,
    ...(o.masterStampIntervalMs !== undefined && { stampIntervalMs: o.masterStampIntervalMs }),
  });
  const proxy = await startFaultyCalendarProxy(t, master.node.url);
  const slave = await startLitecoinCalendar(t, {
    ltc,
    minConfirmations: 1,
    fund: o.fundSlave ?? true,
    collaboration: { masters: [proxy.url], ...FAST, ...o.slave },
  });
  return { ltc, master, proxy, slave };
}

/** Waits until the master's transaction in flight covers everything pending there, and returns its txid. */
async function masterTransaction(master: LitecoinCalendar): Promise<string> {
  return waitFor(
    "the master's transaction over everything it holds",
    () => {
      const status = master.node.anchoring?.status();
      const inFlight = status?.inFlight;
      return inFlight && status && inFlight.commitments === status.pendingCommitments
        ? inFlight.txid
        : undefined;
    },
    30_000,
    master.explain,
  );
}

/** Posts `n` digests to the slave at once and waits until a master holds their tip. */
async function delegated(slave: LitecoinCalendar, n: number): Promise<string[]> {
  const commitments = await Promise.all(Array.from({ length: n }, () => slave.postDigest()));
  await waitFor(
    'the tip delegated',
    async () => ((await collaborationOf(slave)).waiting_commitments === n ? true : undefined),
    30_000,
    slave.explain,
  );
  return commitments;
}

/** The heights python-opentimestamps verified each commitment's proof at, against the node's headers. */
async function pythonHeights(calendar: LitecoinCalendar, commitments: string[]): Promise<number[][]> {
  const verified = (await runPython('python_verify.py', [
    calendar.node.url,
    calendar.ltc.rpcUrl,
    ...commitments,
  ])) as {
    verified: { height: number }[];
  }[];
  return verified.map((v) => v.verified.map((x) => x.height));
}

const needs = (t: TestContext) =>
  requireTools(
    t,
    litecoindUnavailable(),
    oracleUnavailable(),
    existsSync(`${CLIENTS_DIR}js/node_modules/opentimestamps`)
      ? undefined
      : 'npm ci --prefix test/clients/js first (.ci/run does)',
  );

describe('collaborative stamping on litecoind', () => {
  it('C1: the slave spends nothing; its proofs go through the master transaction and verify', async (t) => {
    if (!needs(t)) return;
    const { ltc, master, slave } = await masterAndSlave(t);
    const balance = await waitFor(
      'the slave funded',
      () => slave.node.anchoring?.status().balanceSats || undefined,
    );
    // a client of the slave, with the npm client
    const js = await runJsClient<{ stamped: string }>([slave.node.url]);
    const commitments = await delegated(slave, 2);
    const txid = await masterTransaction(master);
    const minedAt = (await height(ltc)) + 1;
    await mine(ltc, 1, master.miner);
    await waitFor('the slave proofs', () => allProved(slave.node, commitments), 30_000, slave.explain);
    assert.deepEqual(await pythonHeights(slave, commitments), [[minedAt], [minedAt]]);
    assert.deepEqual(await ownTransactions(slave), [], 'the slave made no transaction');
    assert.equal(slave.node.anchoring?.status().balanceSats, balance);
    assert.equal(slave.node.anchoring?.status().feesSpentSats, 0);
    const block = await ltc.rpc.call<{ tx: string[] }>(
      'getblock',
      await ltc.rpc.call('getblockhash', minedAt),
      1,
    );
    assert.ok(block.tx.includes(txid));
    // the npm client upgrades through the slave to the master's block
    const upgraded = await runJsClient<{ upgraded: boolean; after: string }>([slave.node.url, js.stamped]);
    assert.equal(upgraded.upgraded, true);
    const file = DetachedTimestampFile.fromBytes(fromHex(upgraded.after));
    const attestations = [...file.timestamp.allAttestations()].filter(
      ([, a]) => a instanceof BitcoinBlockHeaderAttestation,
    );
    assert.equal(attestations.length, 1);
    const [msg, attestation] = attestations[0] as [Uint8Array, BitcoinBlockHeaderAttestation];
    assert.equal(attestation.height, minedAt);
    const header = new BlockHeader(
      fromHex(
        await ltc.rpc.call<string>('getblockheader', await ltc.rpc.call('getblockhash', minedAt), false),
      ),
    );
    assert.equal(toHex(header.merkleRoot), toHex(msg));
    const status = await collaborationOf(slave);
    assert.deepEqual(status.fallbacks, { down: 0, timeout: 0, bad_proof: 0, degraded: 0 });
    assert.equal(status.masters[0]?.state, 'ok');
    assert.equal(status.delegations_in_flight, 0);
  });
});
