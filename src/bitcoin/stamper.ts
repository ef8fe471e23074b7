/**
 * The stamper: puts the merkle tip of all pending commitments into a Bitcoin transaction, replaces it
 * (BIP125) with one covering everything pending and paying more on every new block while it is
 * unconfirmed, and once a version has `minConfirmations` writes the proof record. Every version is
 * written to the journal before it is broadcast, so a restart knows everything it may have sent; the
 * chain is the authority on which version confirmed and which outputs are unspent.
 * @module
 */
import type { Calendar } from '../calendar/calendar.js';
import { RecordKind } from '../journal/record.js';
import { decodeStampPayload, encodeStampPayload } from '../journal/stamp-payload.js';
import {
  type BitcoinTransaction,
  equalBytes,
  MerkleTree,
  parseTransaction,
  reverseBytes,
  sha256,
  toHex,
} from '../ots/index.js';
import { bitcoinTipTimestamp } from './bitcoin-proof.js';
import type { Block, NodeClient } from './node-client.js';
import { RpcError } from './rpc-client.js';
import { buildStampTx, InsufficientFundsError, type SpendableOutput } from './stamp-tx.js';
import type { WalletKey } from './wallet-key.js';

export interface FeePolicy {
  /** sat/vB for a first version when the node has no estimate (regtest never has one). */
  feeRate: number;
  /** Each replacement pays at least this factor more per vbyte... */
  bumpFactor: number;
  /** ...and at least this many sat/vB more (the node's incremental relay fee). */
  minBump: number;
  maxFeeRate: number;
  /** Satoshis. */
  maxFeePerTx: number;
  /** Satoshis of fees committed to by transactions built in the last 144 blocks (a day of blocks). */
  maxSpendPerDay: number;
}

export const DEFAULT_FEE_POLICY: FeePolicy = {
  feeRate: 2,
  bumpFactor: 1.25,
  minBump: 1,
  maxFeeRate: 200,
  maxFeePerTx: 100_000,
  maxSpendPerDay: 1_000_000,
};

export interface StamperOptions {
  calendar: Calendar;
  node: NodeClient;
  key: WalletKey;
  minConfirmations: number;
  /** Mean time between transactions; each wait is drawn from [interval/2, interval*3/2]. */
  stampIntervalMs: number;
  /** How often the chain is polled. */
  pollMs?: number;
  /** Height from which blocks are scanned for outputs paying the calendar's key. */
  scanFromHeight: number;
  fees?: Partial<FeePolicy>;
  /** Warn when commitments have been pending longer than this without an anchor. */
  lagWarningMs?: number;
  log: {
    info(obj: object, msg: string): void;
    warn(obj: object, msg: string): void;
    error(obj: object, msg: string): void;
  };
  now?: () => number;
}

interface Version {
  record: number;
  commitments: number[];
  tip: Uint8Array;
  tx: BitcoinTransaction;
  raw: Uint8Array;
  fee: number;
  feeRate: number;
  /** Where it was mined, while its block is in the best chain. */
  minedAt?: { height: number; hash: string };
  lastBroadcastAt?: number;
}

/** What the status page and metrics show about anchoring. */
export interface AnchoringStatus {
  address: string;
  pendingCommitments: number;
  /** Seconds since the last proof was written, or undefined when none was written since start. */
  lastAnchorAgeSeconds: number | undefined;
  inFlight:
    | {
        txid: string;
        versions: number;
        feeRate: number;
        fee: number;
        commitments: number;
        confirmations: number;
      }
    | undefined;
  feesSpentSats: number;
  balanceSats: number;
  chainHeight: number;
  lastError: string | undefined;
}

/** The window of the daily spend cap. */
const BLOCKS_PER_DAY = 144;
/** A coinbase output can be spent once it has this many confirmations. */
const COINBASE_MATURITY = 100;
/** A version missing from the mempool is sent again at most this often. */
const REBROADCAST_MS = 30_000;

const outpointKey = (txid: Uint8Array, index: number) => `${toHex(txid)}:${index}`;

export class Stamper {
  private readonly o: StamperOptions;
  private fees: FeePolicy;
  private readonly now: () => number;
  private readonly blockHashes = new Map<number, string>();
  private scannedHeight: number;
  /** The first block scanned: scanFromHeight, or earlier to find the transactions in the journal. */
  private scanStart: number;
  private tipHeight = -1;
  private readonly candidates = new Map<string, SpendableOutput & { height: number; coinbase: boolean }>();
  private versions: Version[] = [];
  private nextStampAt: number;
  private lastAnchorAt: number | undefined;
  private feesSpent = 0;
  private lastError: string | undefined;
  private lastLagWarning = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly startedAt: number;

  constructor(options: StamperOptions) {
    this.o = options;
    this.fees = { ...DEFAULT_FEE_POLICY, ...options.fees };
    this.now = options.now ?? Date.now;
    this.startedAt = this.now();
    this.scannedHeight = options.scanFromHeight - 1;
    this.scanStart = options.scanFromHeight;
    this.nextStampAt = this.now() + this.stampWait();
  }

  private stampWait(): number {
    return this.o.stampIntervalMs * (0.5 + Math.random());
  }

  /** Loads the versions in flight from the journal, then polls the chain until stopped. */
  async start(): Promise<void> {
    await this.loadVersions();
    const loop = async () => {
      if (this.stopped) return;
      this.running = this.tick().catch((e: unknown) => {
        this.lastError = (e as Error).message;
        this.o.log.error({ err: e }, 'stamper: tick failed');
      });
      await this.running;
      if (!this.stopped) this.timer = setTimeout(loop, this.o.pollMs ?? 1000);
    };
    await loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** Changes fee caps while running (SIGHUP); the next version built follows them. */
  updateFees(fees: Partial<FeePolicy>): void {
    this.fees = { ...this.fees, ...fees };
  }

  /** The reference's 404 text for a commitment in a mined transaction that is not final yet. */
  describePending(record: number): string | undefined {
    const mined = this.versions.find((v) => v.minedAt);
    if (!mined?.commitments.includes(record)) return undefined;
    return `Timestamped by transaction ${toHex(reverseBytes(mined.tx.txid))}; waiting for ${this.o.minConfirmations} confirmations`;
  }

  /** The tip of the newest version in flight (GET /tip). */
  currentTip(): Uint8Array | undefined {
    return this.versions.at(-1)?.tip;
  }

  status(): AnchoringStatus {
    const latest = this.versions.at(-1);
    const mined = this.versions.find((v) => v.minedAt);
    return {
      address: this.o.key.address,
      pendingCommitments: this.o.calendar.index.pendingCount,
      lastAnchorAgeSeconds:
        this.lastAnchorAt === undefined ? undefined : Math.floor((this.now() - this.lastAnchorAt) / 1000),
      inFlight: latest && {
        txid: toHex(reverseBytes((mined ?? latest).tx.txid)),
        versions: this.versions.length,
        feeRate: latest.feeRate,
        fee: latest.fee,
        commitments: (mined ?? latest).commitments.length,
        confirmations: mined?.minedAt ? this.tipHeight - mined.minedAt.height + 1 : 0,
      },
      feesSpentSats: this.feesSpent,
      balanceSats: Number([...this.candidates.values()].reduce((sum, c) => sum + c.value, 0n)),
      chainHeight: this.tipHeight,
      lastError: this.lastError,
    };
  }

  private async loadVersions(): Promise<void> {
    for (const position of this.o.calendar.index.openStamps()) {
      const record = await this.o.calendar.journal.readAt(position);
      const stamp = decodeStampPayload(record.payload);
      const tx = parseTransaction(stamp.rawTx);
      this.versions.push({
        record: record.number,
        commitments: stamp.commitments,
        tip: this.tipOf(stamp.commitments),
        tx,
        raw: stamp.rawTx,
        fee: stamp.fee,
        feeRate: stamp.fee / Math.max(1, weightToVsize(stamp.rawTx, tx)),
      });
      // versions may have been mined before the scan start: look from the first one's height
      this.scannedHeight = Math.min(this.scannedHeight, tx.lockTime - 1);
    }
    // the change of the last stamping transaction funds the next one: scan from where it was built,
    // however late scanFromHeight starts (a calendar idle for longer than its default window)
    const lastStamp = this.o.calendar.index.lastStampHeight();
    if (lastStamp !== undefined && lastStamp - 1 < this.scannedHeight) {
      this.scannedHeight = lastStamp - 1;
      this.o.log.info({ height: lastStamp }, 'stamper: scanning from the last stamping transaction');
    }
    this.scanStart = this.scannedHeight + 1;
    if (this.versions.length > 0) {
      this.o.log.info(
        { versions: this.versions.length, txid: toHex(reverseBytes((this.versions[0] as Version).tx.txid)) },
        'stamper: resuming a transaction in flight',
      );
    }
  }

  private tipOf(commitments: number[]): Uint8Array {
    return new MerkleTree(
      commitments.map((n) => {
        const c = this.o.calendar.index.commitmentAt(n);
        if (!c) throw new Error(`stamper: record ${n} is not a commitment`);
        return sha256(c);
      }),
    ).root;
  }

  /** One pass: follow the chain, then prove, bump or start a transaction. */
  async tick(): Promise<void> {
    const newBlocks = await this.syncChain();
    this.warnOnLag();
    if (this.versions.length > 0) {
      await this.advanceInFlight(newBlocks);
    } else if (this.o.calendar.index.pendingCount > 0 && this.now() >= this.nextStampAt) {
      await this.startTransaction();
    }
  }

  /** Reads new blocks (rolling back on a reorg); returns how many were added. */
  private async syncChain(): Promise<number> {
    const height = await this.o.node.blockCount();
    // a reorg: walk back to the last block we saw that is still in the best chain
    while (this.scannedHeight >= this.scanStart && this.blockHashes.has(this.scannedHeight)) {
      const hash = await this.o.node.blockHash(this.scannedHeight).catch(() => undefined);
      if (hash === this.blockHashes.get(this.scannedHeight)) break;
      this.o.log.warn({ height: this.scannedHeight }, 'stamper: block left the best chain (reorg)');
      this.forgetBlock(this.scannedHeight);
      this.scannedHeight--;
    }
    let added = 0;
    for (let h = this.scannedHeight + 1; h <= height && !this.stopped; h++) {
      this.scanBlock(await this.o.node.block(h));
      this.scannedHeight = h;
      added++;
    }
    this.tipHeight = height;
    return added;
  }

  private forgetBlock(height: number): void {
    this.blockHashes.delete(height);
    for (const [key, c] of this.candidates) if (c.height === height) this.candidates.delete(key);
    for (const v of this.versions) if (v.minedAt?.height === height) delete v.minedAt;
  }

  private scanBlock(block: Block): void {
    this.blockHashes.set(block.height, block.hash);
    block.transactions.forEach((tx, position) => {
      tx.outputs.forEach((out, index) => {
        if (equalBytes(out.script, this.o.key.script)) {
          this.candidates.set(outpointKey(tx.txid, index), {
            txid: tx.txid,
            index,
            value: out.value,
            height: block.height,
            coinbase: position === 0,
          });
        }
      });
      for (const input of tx.inputs) this.candidates.delete(outpointKey(input.prevTxid, input.prevIndex));
      const version = this.versions.find((v) => equalBytes(v.tx.txid, tx.txid));
      if (version) {
        version.minedAt = { height: block.height, hash: block.hash };
        this.o.log.info(
          { txid: toHex(reverseBytes(tx.txid)), height: block.height },
          'stamper: transaction mined',
        );
      }
    });
  }

  private async advanceInFlight(newBlocks: number): Promise<void> {
    const mined = this.versions.find((v) => v.minedAt);
    if (mined?.minedAt) {
      if (this.tipHeight - mined.minedAt.height + 1 >= this.o.minConfirmations) await this.writeProof(mined);
      return;
    }
    const latest = this.versions.at(-1) as Version;
    const input = latest.tx.inputs[0];
    if (!input) throw new Error('stamper: version without an input');
    if (!(await this.o.node.isUnspent(input.prevTxid, input.prevIndex, false))) {
      // a block mined since this tick read the chain may hold one of our versions: its change (output 0)
      // then exists, and the next tick will see the block
      for (const version of this.versions) {
        if (await this.o.node.isUnspent(version.tx.txid, 0, false)) return;
      }
      // the input is spent in the chain by none of our versions (a reorg, or the key used elsewhere)
      this.o.log.error(
        { input: outpointKey(reverseBytes(input.prevTxid), input.prevIndex) },
        'stamper: input spent by another transaction; abandoning this stamp',
      );
      this.versions = [];
      return;
    }
    if (newBlocks > 0) {
      await this.bump(latest);
    } else if (
      this.now() - (latest.lastBroadcastAt ?? 0) > REBROADCAST_MS &&
      !(await this.o.node.inMempool(latest.tx.txid))
    ) {
      await this.broadcast(latest);
    }
  }

  private pendingRecords(): number[] {
    return [...this.o.calendar.index.pendingRecords()];
  }

  /** From the journal (through the index), so a restart does not reset it. */
  private spentToday(): number {
    return this.o.calendar.index.stampFeesSince(this.tipHeight - BLOCKS_PER_DAY + 1);
  }

  /** A new version covering everything pending at a higher fee rate, if every cap allows it. */
  private async bump(latest: Version): Promise<void> {
    const feeRate = Math.min(
      this.fees.maxFeeRate,
      Math.max(latest.feeRate * this.fees.bumpFactor, latest.feeRate + this.fees.minBump),
    );
    if (feeRate <= latest.feeRate) {
      this.o.log.warn(
        { feeRate: latest.feeRate, maxFeeRate: this.fees.maxFeeRate },
        'stamper: at the maximum fee rate; not bumping',
      );
      return;
    }
    const input = latest.tx.inputs[0] as BitcoinTransaction['inputs'][number];
    const value = await this.inputValue(latest);
    await this.sendVersion({ txid: input.prevTxid, index: input.prevIndex, value }, feeRate, latest.fee);
  }

  private async inputValue(version: Version): Promise<bigint> {
    // our input is a previous change output or a funding output: both pay our key, so the change plus fee is its value
    const change = version.tx.outputs.find((o) => equalBytes(o.script, this.o.key.script));
    if (!change) throw new Error('stamper: version without a change output');
    return change.value + BigInt(version.fee);
  }

  private async startTransaction(): Promise<void> {
    const estimate = await this.o.node.estimateFeeRate(6);
    const feeRate = Math.min(this.fees.maxFeeRate, estimate ?? this.fees.feeRate);
    const spendable = [...this.candidates.values()].filter(
      (c) => !c.coinbase || this.tipHeight - c.height + 1 >= COINBASE_MATURITY,
    );
    let capped = false;
    for (const candidate of spendable.sort((a, b) => Number(b.value - a.value))) {
      if (!(await this.o.node.isUnspent(candidate.txid, candidate.index, true))) {
        this.candidates.delete(outpointKey(candidate.txid, candidate.index));
        continue;
      }
      const outcome = await this.sendVersion(candidate, feeRate, 0);
      if (outcome === 'sent') return;
      capped = outcome === 'capped';
      if (capped) break;
    }
    if (!capped) {
      this.lastError = 'no spendable output for the key; fund the calendar address';
      this.o.log.warn(
        { address: this.o.key.address, pending: this.o.calendar.index.pendingCount },
        `stamper: ${this.lastError}`,
      );
    }
    this.nextStampAt = this.now() + Math.min(60_000, this.o.stampIntervalMs);
  }

  /** Builds, journals and broadcasts a version, unless the funds or a fee cap stop it. */
  private async sendVersion(
    input: SpendableOutput,
    feeRate: number,
    previousFee: number,
  ): Promise<'sent' | 'capped' | 'insufficient'> {
    const commitments = this.pendingRecords();
    const tip = this.tipOf(commitments);
    let built: ReturnType<typeof buildStampTx>;
    try {
      built = buildStampTx({ input, tip, feeRate, lockTime: this.tipHeight, key: this.o.key });
    } catch (e) {
      if (e instanceof InsufficientFundsError) {
        this.o.log.warn(
          { input: toHex(reverseBytes(input.txid)), value: String(input.value) },
          `stamper: ${e.message}`,
        );
        return 'insufficient';
      }
      throw e;
    }
    const fee = Number(built.fee);
    const cap =
      fee > this.fees.maxFeePerTx
        ? `a fee of ${fee} sat is over the per-transaction cap of ${this.fees.maxFeePerTx} sat`
        : this.spentToday() + fee - previousFee > this.fees.maxSpendPerDay
          ? `a fee of ${fee} sat would pass the daily spend cap of ${this.fees.maxSpendPerDay} sat`
          : undefined;
    if (cap) {
      this.lastError = cap;
      this.o.log.warn({ fee, feeRate }, `stamper: not sending: ${cap}`);
      return 'capped';
    }
    const record = await this.o.calendar.journal.append(
      RecordKind.Stamp,
      encodeStampPayload({ commitments, fee, rawTx: built.raw }),
    );
    const version: Version = {
      record: record.number,
      commitments,
      tip,
      tx: parseTransaction(built.raw),
      raw: built.raw,
      fee,
      feeRate,
    };
    this.versions.push(version);
    this.o.log.info(
      {
        txid: toHex(reverseBytes(built.txid)),
        commitments: commitments.length,
        feeRate,
        fee,
        version: this.versions.length,
      },
      this.versions.length === 1
        ? 'stamper: sending a stamping transaction'
        : 'stamper: replacing the stamping transaction',
    );
    await this.broadcast(version);
    return 'sent';
  }

  private async broadcast(version: Version): Promise<void> {
    version.lastBroadcastAt = this.now();
    try {
      await this.o.node.sendRawTransaction(version.raw);
      this.lastError = undefined;
    } catch (e) {
      if (!(e instanceof RpcError)) throw e;
      // a refused replacement or a transport error: the versions already sent still stand; retried next block
      this.lastError = e.message;
      this.o.log.warn(
        { txid: toHex(reverseBytes(version.tx.txid)), error: e.message },
        'stamper: broadcast refused',
      );
    }
  }

  private async writeProof(version: Version): Promise<void> {
    const at = version.minedAt as { height: number; hash: string };
    const block = await this.o.node.block(at.height, at.hash);
    const tipTimestamp = bitcoinTipTimestamp(version.tip, version.tx, {
      height: at.height,
      header: block.header,
      txids: block.transactions.map((t) => t.txid),
    });
    await this.o.calendar.addProof(version.commitments, tipTimestamp);
    this.feesSpent += version.fee;
    this.lastAnchorAt = this.now();
    this.o.log.info(
      {
        txid: toHex(reverseBytes(version.tx.txid)),
        height: at.height,
        commitments: version.commitments.length,
        fee: version.fee,
      },
      'stamper: proof written',
    );
    this.versions = [];
    this.nextStampAt = this.now() + this.stampWait();
  }

  private warnOnLag(): void {
    const lag = this.o.lagWarningMs;
    if (!lag || this.o.calendar.index.pendingCount === 0) return;
    const since = this.lastAnchorAt ?? this.startedAt;
    if (this.now() - since > lag && this.now() - this.lastLagWarning > lag) {
      this.lastLagWarning = this.now();
      this.o.log.warn(
        {
          pending: this.o.calendar.index.pendingCount,
          secondsSinceAnchor: Math.floor((this.now() - since) / 1000),
          lastError: this.lastError,
        },
        'stamper: anchoring lags',
      );
    }
  }
}

/** Virtual size of a raw transaction: (3 * stripped + total) / 4, rounded up. */
function weightToVsize(raw: Uint8Array, tx: BitcoinTransaction): number {
  return Math.ceil((3 * tx.nonWitnessBytes.byteLength + raw.byteLength) / 4);
}
