/**
 * What collaborative stamping saves: three calendars on a litecoind regtest chain over the same
 * simulated day (144 blocks, mined on a timer), first each alone, then two of them with the third as
 * their master; each gets the same stream of digests. Printed: transactions and fees of each calendar,
 * the commitments it proved, and the ratios of the two runs.
 *
 * On a real node with blocks mined on demand, not a model: the real coordinator, stamper and
 * collaboration code make every decision, and the transactions are real ones with real fees, relayed
 * and mined by litecoind. Only time is compressed: a block every BENCH_BLOCK_MS (default 500 ms), a
 * stamp interval of six blocks (an hour), the master timeout 18 blocks, 6 confirmations.
 *
 * Run: npm run bench:collaboration   (needs /usr/lib/litecoin/litecoind)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { NETWORKS } from '../src/bitcoin/network.js';
import { loadWalletKey, walletKeyFromPrivate } from '../src/bitcoin/wallet-key.js';
import { type CalendarNode, startCalendarNode } from '../src/daemon/calendar-node.js';
import type { CollaborationSettings } from '../src/daemon/stamping-role.js';
import { RecordKind } from '../src/journal/record.js';
import { decodeStampEndPayload, StampOutcome } from '../src/journal/stamp-end-payload.js';
import { decodeStampPayload } from '../src/journal/stamp-payload.js';
import { freePort } from '../test/helpers/free-port.js';
import { type Litecoind, litecoindUnavailable, startLitecoind } from '../test/helpers/litecoind.js';

const BLOCK_MS = Number(process.env.BENCH_BLOCK_MS ?? 500);
const DAY_BLOCKS = 144;
/** Blocks mined after the day, with no new digests, so that what the day took is proven. */
const TAIL_BLOCKS = 30;
const CONFIRMATIONS = 6;
const NAMES = ['A', 'B', 'C'];

interface Outcome {
  name: string;
  role: string;
  transactions: number;
  fees: number;
  proven: number;
  pending: number;
}

const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });

/** Transactions of the calendar that were mined (stamp ends) and their fees (the mined versions'). */
async function spending(node: CalendarNode): Promise<{ transactions: number; fees: number }> {
  const fees = new Map<number, number>();
  let transactions = 0;
  let paid = 0;
  for await (const record of node.calendar.journal.read()) {
    if (record.kind === RecordKind.Stamp) fees.set(record.number, decodeStampPayload(record.payload).fee);
    if (record.kind === RecordKind.StampEnd) {
      const end = decodeStampEndPayload(record.payload);
      if (end.outcome !== StampOutcome.Mined) continue;
      transactions++;
      paid += fees.get(end.stamp) ?? 0;
    }
  }
  return { transactions, fees: paid };
}

async function day(collaborating: boolean): Promise<Outcome[]> {
  const cleanups: (() => unknown)[] = [];
  try {
    const ltc: Litecoind = await startLitecoind({
      after: (cleanup: () => unknown) => void cleanups.push(cleanup),
    });
    const network = NETWORKS['litecoin-regtest'];
    const miner = walletKeyFromPrivate(new Uint8Array(32).fill(7), network).address;
    const dirs = NAMES.map(() => mkdtempSync(join(tmpdir(), 'otsd-bench-collab-')));
    cleanups.push(() => {
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    });
    for (const dir of dirs)
      await ltc.rpc.call('generatetoaddress', 1, loadWalletKey(dir, network, true).address);
    await ltc.rpc.call('generatetoaddress', 100, miner);
    const nodes: CalendarNode[] = [];
    for (const dir of dirs) {
      const port = await freePort();
      const master = nodes[0];
      const collaboration: CollaborationSettings | undefined =
        collaborating && master
          ? { masters: [master.url], timeoutBlocks: 18, requestTimeoutMs: 2000, pollIntervalMs: BLOCK_MS / 2 }
          : undefined;
      const node = await startCalendarNode({
        dataDir: dir,
        uri: `http://127.0.0.1:${port}`,
        host: '127.0.0.1',
        port,
        roundIntervalMs: 50,
        bitcoin: {
          network: 'litecoin-regtest',
          rpc: { url: ltc.rpcUrl },
          minConfirmations: CONFIRMATIONS,
          stampIntervalMs: 6 * BLOCK_MS,
          pollMs: 100,
          scanFromHeight: 0,
          fees: { feeRate: 20 },
          ...(collaboration && { collaboration }),
        },
        logger: pino({ level: 'silent' }, quiet),
      });
      cleanups.push(() => node.close());
      nodes.push(node);
    }
    for (let block = 0; block < DAY_BLOCKS + TAIL_BLOCKS; block++) {
      if (block < DAY_BLOCKS) {
        // a digest to each calendar every block: the same stream in both runs
        await Promise.all(
          nodes.map((node) =>
            fetch(`${node.url}/digest`, { method: 'POST', body: crypto.getRandomValues(new Uint8Array(32)) }),
          ),
        );
      }
      await sleep(BLOCK_MS);
      await ltc.rpc.call('generatetoaddress', 1, miner);
    }
    await sleep(2 * BLOCK_MS);
    const outcomes: Outcome[] = [];
    for (const [i, node] of nodes.entries()) {
      const { transactions, fees } = await spending(node);
      outcomes.push({
        name: NAMES[i] as string,
        role: collaborating ? (i === 0 ? 'master' : 'master A') : 'alone',
        transactions,
        fees,
        proven: node.calendar.index.commitmentCount - node.calendar.index.pendingCount,
        pending: node.calendar.index.pendingCount,
      });
    }
    return outcomes;
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup();
  }
}

const unavailable = litecoindUnavailable();
if (unavailable) {
  console.error(`bench:collaboration: ${unavailable}`);
  process.exit(1);
}
console.log(
  `3 calendars on litecoind regtest, ${DAY_BLOCKS} blocks (a block every ${BLOCK_MS} ms, stamp interval 6 blocks, ${CONFIRMATIONS} confirmations, a digest per calendar per block), then ${TAIL_BLOCKS} blocks more`,
);
const row = (mode: string, o: Outcome) =>
  `${mode.padEnd(14)} ${`${o.name} (${o.role})`.padEnd(14)} ${String(o.transactions).padStart(12)} ${String(o.fees).padStart(11)} ${String(o.proven).padStart(8)} ${String(o.pending).padStart(8)}`;
console.log(
  `${'mode'.padEnd(14)} ${'calendar'.padEnd(14)} ${'transactions'.padStart(12)} ${'fees (sat)'.padStart(11)} ${'proven'.padStart(8)} ${'pending'.padStart(8)}`,
);
const totals: Record<string, { transactions: number; fees: number }> = {};
for (const [mode, collaborating] of [
  ['alone', false],
  ['collaborating', true],
] as const) {
  const outcomes = await day(collaborating);
  for (const o of outcomes) console.log(row(mode, o));
  totals[mode] = {
    transactions: outcomes.reduce((sum, o) => sum + o.transactions, 0),
    fees: outcomes.reduce((sum, o) => sum + o.fees, 0),
  };
  console.log(
    `${mode.padEnd(14)} ${'all three'.padEnd(14)} ${String(totals[mode].transactions).padStart(12)} ${String(totals[mode].fees).padStart(11)}`,
  );
}
const alone = totals.alone as { transactions: number; fees: number };
const together = totals.collaborating as { transactions: number; fees: number };
console.log(
  `collaborating / alone: transactions ${(together.transactions / alone.transactions).toFixed(2)}, fees ${(together.fees / alone.fees).toFixed(2)}`,
);
