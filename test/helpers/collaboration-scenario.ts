/**
 * What the collaborative stamping scenarios on litecoind share (test/anchoring/collaboration-*-litecoind):
 * a master otsd calendar behind a fault injector and its slave on one chain, blocks mined on demand,
 * and what a test reads of the slave (its own transactions, delegations, status).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CollaborationSettings } from '../../src/daemon/stamping-role.js';
import { decodeDelegationPayload } from '../../src/journal/delegation-payload.js';
import { RecordKind } from '../../src/journal/record.js';
import { decodeStampPayload } from '../../src/journal/stamp-payload.js';
import { parseTransaction, toHex } from '../../src/ots/index.js';
import { CLIENTS_DIR, runPython } from '../clients/run-client.js';
import { oracleUnavailable } from '../oracle/python-oracle.js';
import { type FaultyCalendarProxy, startFaultyCalendarProxy } from './faulty-calendar-proxy.js';
import {
  allProved,
  type LitecoinCalendar,
  ownTransactions,
  startLitecoinCalendar,
} from './litecoin-calendar.js';
import { type Litecoind, litecoindUnavailable } from './litecoind.js';
import { requireTools } from './require-tools.js';
import { waitFor } from './wait-for.js';

/** Deadlines of a few blocks; masters asked every 200 ms besides every block. */
export const FAST: Omit<CollaborationSettings, 'masters'> = {
  timeoutBlocks: 4,
  requestTimeoutMs: 2000,
  pollIntervalMs: 200,
};

export interface CollaborationJson {
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

export async function collaborationOf(calendar: LitecoinCalendar): Promise<CollaborationJson> {
  const res = await fetch(calendar.node.url, { headers: { accept: 'application/json' } });
  return ((await res.json()) as { collaboration: CollaborationJson }).collaboration;
}

export const mine = (ltc: Litecoind, blocks: number, miner: string) =>
  ltc.rpc.call<string[]>('generatetoaddress', blocks, miner);
export const height = (ltc: Litecoind) => ltc.rpc.call<number>('getblockcount');

/** A master (an otsd calendar stamping every 100 ms) behind a fault injector, and a slave of it. */
export async function masterAndSlave(
  t: TestContext,
  chain: () => Promise<Litecoind>,
  o: {
    masterStampIntervalMs?: number;
    masterConfirmations?: number;
    slaveConfirmations?: number;
    slave?: Partial<CollaborationSettings>;
    fundSlave?: boolean;
    /** A master that never stamps in a test needs no coin. */
    fundMaster?: boolean;
    metrics?: boolean;
  } = {},
): Promise<{
  ltc: Litecoind;
  master: LitecoinCalendar;
  proxy: FaultyCalendarProxy;
  slave: LitecoinCalendar;
}> {
  const ltc = await chain();
  const master = await startLitecoinCalendar(t, {
    ltc,
    minConfirmations: o.masterConfirmations ?? 1,
    fund: o.fundMaster ?? true,
    ...(o.masterStampIntervalMs !== undefined && { stampIntervalMs: o.masterStampIntervalMs }),
  });
  const proxy = await startFaultyCalendarProxy(t, master.node.url);
  const slave = await startLitecoinCalendar(t, {
    ltc,
    minConfirmations: o.slaveConfirmations ?? 1,
    fund: o.fundSlave ?? true,
    ...(o.metrics && { metrics: true }),
    collaboration: { masters: [proxy.url], ...FAST, ...o.slave },
  });
  return { ltc, master, proxy, slave };
}

/** Waits until the master's transaction in flight covers everything pending there, and returns its txid. */
export async function masterTransaction(master: LitecoinCalendar): Promise<string> {
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

/** Waits until the master has a transaction in flight, over all or part of what it holds, and returns its txid. */
export async function anyMasterTransaction(master: LitecoinCalendar): Promise<string> {
  return waitFor(
    "the master's transaction",
    () => master.node.anchoring?.status().inFlight?.txid,
    30_000,
    master.explain,
  );
}

/**
 * Mines the master's transactions until it holds nothing pending: one, or one per tip when a tip
 * reached it after its transaction was sent (it joins only the next one: the master replaces on a new
 * block, so waiting for one transaction over every tip would wait forever). Returns each mined
 * transaction by the height of its block.
 */
export async function mineMasterTransactions(master: LitecoinCalendar): Promise<Map<number, string>> {
  const mined = new Map<number, string>();
  while (master.node.calendar.index.pendingCount > 0) {
    const txid = await anyMasterTransaction(master);
    const minedAt = (await height(master.ltc)) + 1;
    await mine(master.ltc, 1, master.miner);
    mined.set(minedAt, txid);
    await waitFor(
      "the master's proof",
      () => (master.node.anchoring?.status().inFlight?.txid === txid ? undefined : true),
      30_000,
      master.explain,
    );
  }
  return mined;
}

/**
 * Posts `n` digests to the slave at once (in one round or more) and waits until a master holds the tip
 * of every pending commitment. Returns the commitment of each digest.
 */
export async function delegated(slave: LitecoinCalendar, n: number): Promise<string[]> {
  const commitments = await Promise.all(Array.from({ length: n }, () => slave.postDigest()));
  await waitFor(
    'the tip delegated',
    async () =>
      (await collaborationOf(slave)).waiting_commitments === slave.node.calendar.index.pendingCount
        ? true
        : undefined,
    30_000,
    slave.explain,
  );
  return commitments;
}

/** The heights python-opentimestamps verified each commitment's proof at, against the node's headers. */
export async function pythonHeights(calendar: LitecoinCalendar, commitments: string[]): Promise<number[][]> {
  const verified = (await runPython('python_verify.py', [
    calendar.node.url,
    calendar.ltc.rpcUrl,
    ...commitments,
  ])) as {
    verified: { height: number }[];
  }[];
  return verified.map((v) => v.verified.map((x) => x.height));
}

/** The heights at submission of the calendar's delegation records. */
export async function delegationHeights(calendar: LitecoinCalendar): Promise<number[]> {
  const heights: number[] = [];
  for await (const record of calendar.node.calendar.journal.read()) {
    if (record.kind === RecordKind.Delegation) heights.push(decodeDelegationPayload(record.payload).height);
  }
  return heights;
}

/** Waits until the calendar has read the node's tip, and a few polls more (each 100 ms) have passed. */
export async function settled(calendar: LitecoinCalendar): Promise<void> {
  const tip = await height(calendar.ltc);
  await waitFor(
    `the calendar at height ${tip}`,
    () => (calendar.node.anchoring?.status().chainHeight === tip ? true : undefined),
    30_000,
    calendar.explain,
  );
  await sleep(600);
}

/**
 * Waits for the proofs of `commitments` through a master, and checks the slave paid nothing and fell
 * back for no reason; its collaboration status.
 */
export async function provedThroughMaster(
  slave: LitecoinCalendar,
  commitments: string[],
  what = 'the proof through the master',
): Promise<CollaborationJson> {
  await waitFor(what, () => allProved(slave.node, commitments), 30_000, slave.explain);
  assert.deepEqual(await ownTransactions(slave), [], 'the slave made no transaction');
  const status = await collaborationOf(slave);
  assert.deepEqual(status.fallbacks, { down: 0, timeout: 0, bad_proof: 0, degraded: 0 });
  return status;
}

/** The txid of the coinbase of block `hash`. */
export async function coinbase(ltc: Litecoind, hash: string): Promise<string> {
  return (await ltc.rpc.call<{ tx: string[] }>('getblock', hash, 1)).tx[0] as string;
}

/**
 * Mines a block at a time until the calendar makes its own transaction, failing past block `last`;
 * the height it was built at (its locktime).
 */
export async function ownTransactionBy(calendar: LitecoinCalendar, last: number): Promise<number> {
  for (;;) {
    for await (const record of calendar.node.calendar.journal.read())
      if (record.kind === RecordKind.Stamp)
        return parseTransaction(decodeStampPayload(record.payload).rawTx).lockTime;
    assert.ok((await height(calendar.ltc)) < last, `no own transaction by block ${last}`);
    await mine(calendar.ltc, 1, calendar.miner);
    await settled(calendar);
  }
}

/**
 * Mines a block at a time until every commitment is proved: a transaction that started before some of
 * them covers them only in its replacement on the next block.
 */
export async function mineUntilProved(calendar: LitecoinCalendar, commitments: string[]): Promise<void> {
  for (let block = 0; block < 3; block++) {
    await mine(calendar.ltc, 1, calendar.miner);
    await settled(calendar);
    if (await allProved(calendar.node, commitments)) return;
  }
  await waitFor('the proofs', () => allProved(calendar.node, commitments), 30_000, calendar.explain);
}

/** Status and body of GET /timestamp/<hex> for each commitment. */
export const served = (url: string, commitments: string[]) =>
  Promise.all(
    commitments.map(async (c) => {
      const res = await fetch(`${url}/timestamp/${c}`);
      return `${res.status} ${toHex(new Uint8Array(await res.arrayBuffer()))}`;
    }),
  );

/** Proof records in the calendar's journal. */
export async function proofRecords(calendar: LitecoinCalendar): Promise<number> {
  let proofs = 0;
  for await (const record of calendar.node.calendar.journal.read())
    if (record.kind === RecordKind.Proof) proofs++;
  return proofs;
}

export const needs = (t: TestContext) =>
  requireTools(
    t,
    litecoindUnavailable(),
    oracleUnavailable(),
    existsSync(`${CLIENTS_DIR}js/node_modules/opentimestamps`)
      ? undefined
      : 'npm ci --prefix test/clients/js first (.ci/run does)',
  );
