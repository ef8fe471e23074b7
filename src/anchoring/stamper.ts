/**
 * The calendar's own stamper: the chain follower, the key's coins, the fee policy and the stamp
 * session, wired to the calendar. Every poll follows the chain, then does what the session says: start
 * a transaction over everything pending, replace it (BIP125) at a higher fee on each new block, send it
 * again if the mempool lost it, or write the proof once a version is `minConfirmations` deep.
 *
 * Every version is written to the journal before it is broadcast, so a restart knows everything it
 * may have sent; the chain is the authority on which version confirmed and which outputs are unspent.
 * Polls run in the background from `start()`, which reads only the journal: start-up never waits for
 * the chain.
 * @module
 */
import type { Logger } from 'pino';
import { bitcoinTipTimestamp } from '../bitcoin/bitcoin-proof.js';
import { RpcError } from '../bitcoin/rpc-client.js';
import { buildStampTx, InsufficientFundsError, type SpendableOutput } from '../bitcoin/stamp-tx.js';
import type { WalletKey } from '../bitcoin/wallet-key.js';
import type { Calendar } from '../calendar/calendar.js';
import { RecordKind } from '../journal/record.js';
import { decodeStampPayload, encodeStampPayload } from '../journal/stamp-payload.js';
import { equalBytes, MerkleTree, parseTransaction, reverseBytes, sha256, toHex } from '../ots/index.js';
import type { AnchorNode } from './anchor-node.js';
import { type ChainFollower, PrunedNodeError, type ScanProgress } from './chain-follower.js';
import { Coins } from './coins.js';
import {
  bumpedFeeRate,
  capExceeded,
  DEFAULT_FEE_POLICY,
  dayStart,
  type FeePolicy,
  firstFeeRate,
  virtualSize,
} from './fee-policy.js';
import type { BlockRef } from './scan-state.js';
import { StampSession, type Version } from './stamp-session.js';

export interface StamperOptions {
  calendar: Calendar;
  node: AnchorNode;
  /** Follows the chain for the key's outputs and the versions' txids; the stamper registers both. */
  chain: ChainFollower;
  key: WalletKey;
  minConfirmations: number;
  /** Mean time between transactions; each wait is drawn from [interval/2, interval*3/2]. */
  stampIntervalMs: number;
  /** How often the chain is polled. */
  pollMs?: number;
  fees?: Partial<FeePolicy>;
  /** Warn when commitments have been pending longer than this without an anchor. */
  lagWarningMs?: number;
  log: Pick<Logger, 'info' | 'warn' | 'error'>;
  now?: () => number;
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
  /** The last block the stamper has read (-1 before the first). */
  chainHeight: number;
  chainScan: ScanProgress;
  lastError: string | undefined;
}

/** A version missing from the mempool is sent again at most this often. */
const REBROADCAST_MS = 30_000;
/** The same failure is logged again at most this often; the status page shows it meanwhile. */
const REPEAT_FAILURE_LOG_MS = 10 * 60_000;
/** How long stop() waits for a poll in progress (a long scan of the node's UTXO set is left behind). */
const STOP_WAIT_MS = 10_000;

export class Stamper {
  private readonly o: StamperOptions;
  private fees: FeePolicy;
  private readonly now: () => number;
  private readonly session: StampSession;
  private readonly coins: Coins;
  private nextStampAt: number;
  private lastAnchorAt: number | undefined;
  private feesSpent = 0;
  /** Why the last poll failed (usually the node); cleared by the next one that succeeds. */
  private pollFailure: string | undefined;
  private lastLoggedFailure: { message: string; at: number } | undefined;
  /** Why the last version could not go out (funds, a cap, the node's refusal); cleared by a broadcast. */
  private stampingProblem: string | undefined;
  private lastLagWarning = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly stopping = new AbortController();
  private readonly startedAt: number;

  constructor(options: StamperOptions) {
    this.o = options;
    this.fees = { ...DEFAULT_FEE_POLICY, ...options.fees };
    this.now = options.now ?? Date.now;
    this.startedAt = this.now();
    this.session = new StampSession({
      minConfirmations: options.minConfirmations,
      rebroadcastMs: REBROADCAST_MS,
    });
    this.coins = new Coins(options.chain, options.key.script, options.node);
    this.nextStampAt = this.now() + this.stampWait();
  }

  private stampWait(): number {
    return this.o.stampIntervalMs * (0.5 + Math.random());
  }

  /** Reads the versions in flight from the journal, then polls the chain in the background until stopped. */
  async start(): Promise<void> {
    await this.resumeFromJournal();
    const loop = async () => {
      if (this.stopping.signal.aborted) return;
      this.running = this.tick().then(
        () => {
          this.pollFailure = undefined;
        },
        (e: unknown) => this.pollFailed(e),
      );
      await this.running;
      if (!this.stopping.signal.aborted) this.timer = setTimeout(loop, this.o.pollMs ?? 1000);
    };
    this.timer = setTimeout(loop, 0);
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    clearTimeout(this.timer);
    let waited: NodeJS.Timeout | undefined;
    await Promise.race([
      this.running,
      new Promise((resolve) => (waited = setTimeout(resolve, STOP_WAIT_MS))),
    ]);
    clearTimeout(waited);
  }

  /** Changes fee caps while running (SIGHUP); the next version built follows them. */
  updateFees(fees: Partial<FeePolicy>): void {
    this.fees = { ...this.fees, ...fees };
  }

  /** The reference's 404 text for a commitment in a mined transaction that is not final yet. */
  describePending(record: number): string | undefined {
    const mined = this.session.mined;
    if (!mined?.version.commitments.includes(record)) return undefined;
    return `Timestamped by transaction ${toHex(reverseBytes(mined.version.tx.txid))}; waiting for ${this.o.minConfirmations} confirmations`;
  }

  /** The tip of the newest version in flight (GET /tip). */
  currentTip(): Uint8Array | undefined {
    return this.session.versions.at(-1)?.tip;
  }

  status(): AnchoringStatus {
    return {
      address: this.o.key.address,
      pendingCommitments: this.o.calendar.index.pendingCount,
      lastAnchorAgeSeconds:
        this.lastAnchorAt === undefined ? undefined : Math.floor((this.now() - this.lastAnchorAt) / 1000),
      inFlight: this.inFlightStatus(),
      feesSpentSats: this.feesSpent,
      balanceSats: Number(this.coins.balance()),
      chainHeight: this.o.chain.height,
      chainScan: this.o.chain.progress(),
      lastError: this.pollFailure ?? this.stampingProblem,
    };
  }

  /** The mined version once there is one (its txid, what it covers), with the latest version's fee. */
  private inFlightStatus(): AnchoringStatus['inFlight'] {
    const { versions } = this.session;
    const latest = versions.at(-1);
    if (!latest) return undefined;
    const mined = this.session.mined;
    const shown = mined?.version ?? latest;
    return {
      txid: toHex(reverseBytes(shown.tx.txid)),
      versions: versions.length,
      feeRate: latest.feeRate,
      fee: latest.fee,
      commitments: shown.commitments.length,
      confirmations: mined ? this.o.chain.height - mined.at.height + 1 : 0,
    };
  }

  /**
   * The versions in flight, watched again; and where a new scan of the chain must start so that it
   * finds them, and the change of the last transaction, however long the calendar was stopped.
   */
  private async resumeFromJournal(): Promise<void> {
    const versions: Version[] = [];
    for (const position of this.o.calendar.index.openStamps()) {
      const record = await this.o.calendar.journal.readAt(position);
      const stamp = decodeStampPayload(record.payload);
      const tx = parseTransaction(stamp.rawTx);
      versions.push({
        commitments: stamp.commitments,
        tip: this.tipOf(stamp.commitments),
        tx,
        raw: stamp.rawTx,
        fee: stamp.fee,
        feeRate: stamp.fee / Math.max(1, virtualSize(stamp.rawTx, tx)),
      });
      this.o.chain.watchTxid(tx.txid);
      this.o.chain.requireFrom(tx.lockTime);
    }
    const lastStamp = this.o.calendar.index.lastStampHeight();
    if (lastStamp !== undefined) this.o.chain.requireFrom(lastStamp);
    this.session.resume(versions);
    if (versions.length > 0) {
      this.o.log.info(
        { versions: versions.length, txid: toHex(reverseBytes((versions[0] as Version).tx.txid)) },
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

  /** One poll: follow the chain, then do what the session says. */
  private async tick(): Promise<void> {
    const { connected } = await this.o.chain.sync(this.stopping.signal);
    if (this.stopping.signal.aborted) return;
    this.warnOnLag();
    const now = this.now();
    const effect = this.session.next(
      { height: this.o.chain.height, newBlocks: connected, minedAt: (txid) => this.o.chain.minedAt(txid) },
      now,
      this.o.calendar.index.pendingCount > 0 && now >= this.nextStampAt,
    );
    switch (effect.kind) {
      case 'start':
        return this.startTransaction();
      case 'bump':
        if (await this.inputStillOurs(effect.latest)) await this.bump(effect.latest);
        return;
      case 'rebroadcast':
        if (
          (await this.inputStillOurs(effect.latest)) &&
          !(await this.o.node.inMempool(effect.latest.tx.txid))
        )
          await this.broadcast(effect.latest);
        return;
      case 'prove':
        return this.writeProof(effect.version, effect.at);
      case 'none':
        return;
    }
  }

  private pollFailed(e: unknown): void {
    const message = (e as Error).message;
    this.pollFailure = message;
    const now = this.now();
    const last = this.lastLoggedFailure;
    if (last?.message === message && now - last.at < REPEAT_FAILURE_LOG_MS) return;
    this.lastLoggedFailure = { message, at: now };
    // the node's failures are expected (it restarts, it is pruned): one line each, no stack
    const expected = e instanceof RpcError || e instanceof PrunedNodeError;
    this.o.log.error(expected ? { error: message } : { err: e }, 'stamper: poll failed');
  }

  /**
   * Whether the input of the transaction in flight is still unspent, or spent by one of its versions.
   * Spent by a transaction that is none of ours (the key used elsewhere), the stamp is abandoned.
   */
  private async inputStillOurs(latest: Version): Promise<boolean> {
    const input = latest.tx.inputs[0];
    if (!input) throw new Error('stamper: version without an input');
    if (await this.o.node.isUnspent(input.prevTxid, input.prevIndex, false)) return true;
    // a block mined since this poll read the chain may hold one of our versions: its change (output 0)
    // then exists, and the next poll will see the block
    for (const version of this.session.versions) {
      if (await this.o.node.isUnspent(version.tx.txid, 0, false)) return false;
    }
    this.o.log.error(
      { input: `${toHex(reverseBytes(input.prevTxid))}:${input.prevIndex}` },
      'stamper: input spent by another transaction; abandoning this stamp',
    );
    for (const version of this.session.versions) this.o.chain.unwatchTxid(version.tx.txid);
    this.session.abandoned();
    return false;
  }

  /** A new version covering everything pending at a higher fee rate, if every cap allows it. */
  private async bump(latest: Version): Promise<void> {
    const feeRate = bumpedFeeRate(this.fees, latest.feeRate);
    if (feeRate === undefined) {
      this.o.log.warn(
        { feeRate: latest.feeRate, maxFeeRate: this.fees.maxFeeRate },
        'stamper: at the maximum fee rate; not bumping',
      );
      return;
    }
    const input = latest.tx.inputs[0] as (typeof latest.tx.inputs)[number];
    // the input is a previous change output or a funding output: both pay our key, so it is worth the
    // version's change plus its fee
    const change = latest.tx.outputs.find((o) => equalBytes(o.script, this.o.key.script));
    if (!change) throw new Error('stamper: version without a change output');
    await this.sendVersion(
      { txid: input.prevTxid, index: input.prevIndex, value: change.value + BigInt(latest.fee) },
      feeRate,
      latest.fee,
    );
  }

  private async startTransaction(): Promise<void> {
    const feeRate = firstFeeRate(this.fees, await this.o.node.estimateFeeRate(6));
    let capped = false;
    for await (const coin of this.coins.spendable()) {
      const outcome = await this.sendVersion(coin, feeRate, 0);
      if (outcome === 'sent') return;
      if (outcome === 'capped') {
        capped = true;
        break;
      }
    }
    if (!capped) {
      this.stampingProblem = 'no spendable output for the key; fund the calendar address';
      this.o.log.warn(
        { address: this.o.key.address, pending: this.o.calendar.index.pendingCount },
        `stamper: ${this.stampingProblem}`,
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
    const commitments = [...this.o.calendar.index.pendingRecords()];
    const tip = this.tipOf(commitments);
    const lockTime = this.o.chain.height;
    let built: ReturnType<typeof buildStampTx>;
    try {
      built = buildStampTx({ input, tip, feeRate, lockTime, key: this.o.key });
    } catch (e) {
      if (!(e instanceof InsufficientFundsError)) throw e;
      this.o.log.warn(
        { input: toHex(reverseBytes(input.txid)), value: String(input.value) },
        `stamper: ${e.message}`,
      );
      return 'insufficient';
    }
    const fee = Number(built.fee);
    const cap = capExceeded(this.fees, fee, {
      spentToday: this.o.calendar.index.stampFeesSince(dayStart(lockTime)),
      previousFee,
    });
    if (cap) {
      this.stampingProblem = cap;
      this.o.log.warn({ fee, feeRate }, `stamper: not sending: ${cap}`);
      return 'capped';
    }
    // journaled (and fsynced) before it is broadcast, and watched before it can be mined: after a crash
    // the journal knows every version that may be out there
    await this.o.calendar.journal.append(
      RecordKind.Stamp,
      encodeStampPayload({ commitments, fee, rawTx: built.raw }),
    );
    const version: Version = {
      commitments,
      tip,
      tx: parseTransaction(built.raw),
      raw: built.raw,
      fee,
      feeRate,
    };
    this.o.chain.watchTxid(version.tx.txid);
    this.session.sent(version);
    const count = this.session.versions.length;
    this.o.log.info(
      {
        txid: toHex(reverseBytes(built.txid)),
        commitments: commitments.length,
        feeRate,
        fee,
        version: count,
      },
      count === 1 ? 'stamper: sending a stamping transaction' : 'stamper: replacing the stamping transaction',
    );
    await this.broadcast(version);
    return 'sent';
  }

  private async broadcast(version: Version): Promise<void> {
    this.session.broadcast(version, this.now());
    try {
      await this.o.node.sendRawTransaction(version.raw);
      this.stampingProblem = undefined;
    } catch (e) {
      if (!(e instanceof RpcError)) throw e;
      // a refused replacement or a transport error: the versions already sent still stand; retried next block
      this.stampingProblem = e.message;
      this.o.log.warn(
        { txid: toHex(reverseBytes(version.tx.txid)), error: e.message },
        'stamper: broadcast refused',
      );
    }
  }

  private async writeProof(version: Version, at: BlockRef): Promise<void> {
    const block = await this.o.node.block(at.height, at.hash);
    const tipTimestamp = bitcoinTipTimestamp(version.tip, version.tx, {
      height: at.height,
      header: block.header,
      txids: block.transactions.map((t) => t.txid),
    });
    await this.o.calendar.addProof(version.commitments, tipTimestamp);
    for (const v of this.session.versions) this.o.chain.unwatchTxid(v.tx.txid);
    this.session.proved();
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
    this.nextStampAt = this.now() + this.stampWait();
  }

  private warnOnLag(): void {
    const lag = this.o.lagWarningMs;
    const pending = this.o.calendar.index.pendingCount;
    if (!lag || pending === 0) return;
    const since = this.lastAnchorAt ?? this.startedAt;
    if (this.now() - since > lag && this.now() - this.lastLagWarning > lag) {
      this.lastLagWarning = this.now();
      this.o.log.warn(
        {
          pending,
          secondsSinceAnchor: Math.floor((this.now() - since) / 1000),
          lastError: this.pollFailure ?? this.stampingProblem,
        },
        'stamper: anchoring lags',
      );
    }
  }
}
