/** A calendar stamping on a fresh litecoind regtest chain, its key funded by one mature coinbase. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { TestContext } from 'node:test';
import { pino } from 'pino';
import type { ExternalSettings } from '../../src/anchoring/external-stamping.js';
import type { FeePolicy } from '../../src/anchoring/fee-policy.js';
import { NETWORKS } from '../../src/bitcoin/network.js';
import { loadWalletKey, type WalletKey, walletKeyFromPrivate } from '../../src/bitcoin/wallet-key.js';
import { type CalendarNode, startCalendarNode } from '../../src/daemon/calendar-node.js';
import type { CollaborationSettings } from '../../src/daemon/stamping-role.js';
import { CalendarIndex } from '../../src/index/calendar-index.js';
import { RecordKind } from '../../src/journal/record.js';
import { decodeStampPayload } from '../../src/journal/stamp-payload.js';
import { PendingAttestation, parseTransaction, reverseBytes, Timestamp, toHex } from '../../src/ots/index.js';
import { type FaultyRpcProxy, startFaultyRpcProxy } from './faulty-rpc-proxy.js';
import { freePort, freePorts } from './free-port.js';
import { type Litecoind, type LitecoindOptions, startLitecoind } from './litecoind.js';
import { tempDir } from './temp-dir.js';
import { waitFor } from './wait-for.js';

export interface LitecoinCalendar {
  /** The stamper's status and the last lines of the calendar's log, for timeout messages. */
  explain(): string;
  ltc: Litecoind;
  /** The fault injector between the calendar and the node, when asked for. */
  proxy: FaultyRpcProxy | undefined;
  node: CalendarNode;
  /** The calendar's log lines (the last 200), without request lines. */
  log(): string[];
  dataDir: string;
  /** The calendar's key (its data dir's). */
  key: WalletKey;
  /**
   * Stops the calendar, runs `whileStopped`, and starts it again on the same data directory (the node
   * returned is new), scanning the chain from `scanFromHeight` (default: where its key was funded). With `rebuildIndex`, the
   * index is emptied meanwhile, as `otsd reindex` does: the saved chain scan goes with it.
   */
  restart(options?: {
    scanFromHeight?: number;
    rebuildIndex?: boolean;
    whileStopped?: () => Promise<unknown>;
  }): Promise<CalendarNode>;
  /** An address that is not the calendar's, for mining. */
  miner: string;
  /** Posts a random digest; returns the commitment of the answer. */
  postDigest(): Promise<string>;
  mempool(): Promise<string[]>;
}

export async function startLitecoinCalendar(
  t: TestContext,
  options: {
    minConfirmations?: number;
    fees?: Partial<FeePolicy>;
    /** Put a fault injector (test/helpers/faulty-rpc-proxy.ts) between the calendar and the node. */
    proxy?: boolean;
    node?: LitecoindOptions;
    /** The first start's --bitcoin-scan-from (default 0). */
    scanFromHeight?: number;
    /** A node already running (several calendars on one chain); by default a new one. */
    ltc?: Litecoind;
    /** Fund the key with a mature coinbase (default true). */
    fund?: boolean;
    /** Mean time between stamp cycles (default 100 ms). */
    stampIntervalMs?: number;
    /** Collaborative stamping: the masters and their timeouts. */
    collaboration?: CollaborationSettings;
    /** External stamping: its settings. */
    external?: ExternalSettings;
    /** The calendar's port (default: a free one), e.g. for a URI another calendar names first. */
    port?: number;
    /** Serve Prometheus metrics (CalendarNode.metricsUrl). */
    metrics?: boolean;
    /** Reverse proxies whose X-Forwarded-For is believed (--trust-proxy). */
    trustProxy?: string[];
  } = {},
): Promise<LitecoinCalendar> {
  const ltc = options.ltc ?? (await startLitecoind(t, options.node));
  const proxy = options.proxy ? await startFaultyRpcProxy(t, ltc.rpcUrl) : undefined;
  const network = NETWORKS['litecoin-regtest'];
  const dataDir = tempDir(t);
  const key = loadWalletKey(dataDir, network, true);
  const miner = walletKeyFromPrivate(new Uint8Array(32).fill(7), network).address;
  // on a shared chain, the scan starts where this calendar's key was funded, not at genesis
  const fundedAt = options.ltc ? (await ltc.rpc.call<number>('getblockcount')) + 1 : 0;
  if (options.fund ?? true) {
    await ltc.rpc.call('generatetoaddress', 1, key.address);
    await ltc.rpc.call('generatetoaddress', 100, miner);
  }
  const port = options.port ?? (await freePort());
  const metricsPort = options.metrics ? (await freePorts(1, [port]))[0] : undefined;
  // the calendar's log, kept for explaining a test that times out
  const logLines: string[] = [];
  const logSink = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(...String(chunk).split('\n').filter(Boolean));
      logLines.splice(0, Math.max(0, logLines.length - 2000));
      done();
    },
  });
  const start = (scanFromHeight = fundedAt) =>
    startCalendarNode({
      dataDir,
      uri: `http://127.0.0.1:${port}`,
      host: '127.0.0.1',
      port,
      roundIntervalMs: 20,
      bitcoin: {
        network: 'litecoin-regtest',
        rpc: { url: proxy?.url ?? ltc.rpcUrl },
        minConfirmations: options.minConfirmations ?? 2,
        stampIntervalMs: options.stampIntervalMs ?? 100,
        pollMs: 100,
        scanFromHeight,
        // litecoind relays from 1 sat/vB, and a replacement must pay 1 sat/vB more (incremental relay fee)
        fees: { feeRate: 20, bumpFactor: 1.6, ...options.fees },
        ...(options.collaboration && { collaboration: options.collaboration }),
        ...(options.external && { external: options.external }),
      },
      ...(metricsPort !== undefined && { metrics: { host: '127.0.0.1', port: metricsPort } }),
      ...(options.trustProxy && { trustProxy: options.trustProxy }),
      logger: pino({ level: 'debug' }, logSink),
    });
  let node = await start(options.scanFromHeight);
  t.after(() => node.close());
  const log = () => logLines.filter((l) => !l.includes('"msg":"request"'));
  const calendar: LitecoinCalendar = {
    explain: () =>
      `${calendar.node.url}: ${JSON.stringify({ ...calendar.node.anchoring?.status(), chainScan: undefined })}\nlog:\n${log().slice(-40).join('\n')}`,
    ltc,
    proxy,
    node,
    log,
    dataDir,
    key,
    restart: async (options = {}) => {
      await node.close();
      if (options.rebuildIndex) {
        const index = CalendarIndex.open(join(dataDir, 'index'), join(dataDir, 'journal'));
        index.clear();
        await index.close();
      }
      await options.whileStopped?.();
      node = await start(options.scanFromHeight);
      calendar.node = node;
      return node;
    },
    miner,
    mempool: () => ltc.rpc.call<string[]>('getrawmempool'),
    postDigest: async () => {
      const digest = crypto.getRandomValues(new Uint8Array(32));
      const res = await fetch(`${calendar.node.url}/digest`, { method: 'POST', body: digest });
      assert.equal(res.status, 200);
      const found = Timestamp.fromBytes(digest, new Uint8Array(await res.arrayBuffer())).shortestPathTo(
        (a) => a instanceof PendingAttestation,
      );
      return toHex(found?.msg as Uint8Array);
    },
  };
  return calendar;
}

/** The calendar's own stamping transactions: the txids of its stamp records. */
export async function ownTransactions(calendar: LitecoinCalendar): Promise<string[]> {
  const txids: string[] = [];
  for await (const record of calendar.node.calendar.journal.read()) {
    if (record.kind === RecordKind.Stamp)
      txids.push(toHex(reverseBytes(parseTransaction(decodeStampPayload(record.payload).rawTx).txid)));
  }
  return txids;
}

/**
 * The calendar's own transaction in the mempool, once there is one: not merely the first the mempool
 * holds, which on a node shared by a test file may be another's, mined before the own one is sent.
 */
export function ownTransactionSent(calendar: LitecoinCalendar): Promise<string> {
  return waitFor(
    'the own transaction',
    async () => {
      const own = await ownTransactions(calendar);
      return (await calendar.mempool()).find((txid) => own.includes(txid));
    },
    30_000,
    calendar.explain,
  );
}

/** Posts a digest, waits for a stamping transaction, mines it and waits for the digest's proof. */
export async function stampsOneDigest(calendar: LitecoinCalendar): Promise<void> {
  const commitments = [await calendar.postDigest()];
  await ownTransactionSent(calendar);
  await calendar.ltc.rpc.call('generatetoaddress', 1, calendar.miner);
  await waitFor('the proof', () => allProved(calendar.node, commitments), 30_000, calendar.explain);
}

/** Resolves once every commitment has a complete proof. */
export async function allProved(node: CalendarNode, commitments: string[]): Promise<true | undefined> {
  const states = await Promise.all(commitments.map((c) => node.calendar.lookup(Buffer.from(c, 'hex'))));
  return states.every((s) => s.state === 'found') ? true : undefined;
}
