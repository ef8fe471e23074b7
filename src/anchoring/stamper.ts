/**
 * The calendar's own transaction: one source of proofs, and the fallback of every other. The
 * coordinator calls `step` after each pass over the chain, saying whether a transaction is due and
 * whether a replacement is wanted; the stamper does what its session says: start a transaction over
 * everything pending, replace it (BIP125) at a higher fee on a new block, send it again if the mempool
 * lost it, or have the proof written once a version is `minConfirmations` deep, then end the stamp.
 *
 * Every version is written to the journal before it is broadcast, so a restart knows everything it
 * may have sent; the chain is the authority on which version confirmed and which outputs are unspent.
 * @module
 */
import type { Logger } from 'pino';
import { bitcoinTipTimestamp } from '../bitcoin/bitcoin-proof.js';
import { RpcError } from '../bitcoin/rpc-client.js';
import { buildStampTx, InsufficientFundsError, type SpendableOutput } from '../bitcoin/stamp-tx.js';
import type { WalletKey } from '../bitcoin/wallet-key.js';
import type { Calendar } from '../calendar/calendar.js';
import { RecordKind } from '../journal/record.js';
import { encodeStampEndPayload, StampOutcome } from '../journal/stamp-end-payload.js';
import { decodeStampPayload, encodeStampPayload } from '../journal/stamp-payload.js';
import {
  equalBytes,
  parseTransaction,
  reverseBytes,
  type Timestamp,
  toHex,
  virtualSize,
} from '../ots/index.js';
import type { AnchorNode } from './anchor-node.js';
import type { ChainFollower } from './chain-follower.js';
import { Coins } from './coins.js';
import {
  bumpedFeeRate,
  capExceeded,
  DEFAULT_FEE_POLICY,
  dayStart,
  type FeePolicy,
  firstFeeRate,
} from './fee-policy.js';
import { oldestPending } from './oldest-pending.js';
import type { BlockRef } from './scan-state.js';
import { StampSession, type Version } from './stamp-session.js';

export interface StamperOptions {
  calendar: Calendar;
  node: AnchorNode;
  /** Follows the chain for the key's outputs and the versions' txids; the stamper registers both. */
  chain: ChainFollower;
  key: WalletKey;
  minConfirmations: number;
  /** Mean time between stamp cycles; a start that failed (no funds, a cap) is tried again after this long, at most a minute. */
  stampIntervalMs: number;
  fees?: Partial<FeePolicy>;
  /** Writes a proof of `commitments` unless another source proved them all first. */
  prove(commitments: number[], tip: Timestamp): Promise<unknown>;
  log: Pick<Logger, 'info' | 'warn' | 'error'>;
  now?: () => number;
}

/** The own transaction in flight, for the status page. */
export interface InFlightStatus {
  txid: string;
  versions: number;
  feeRate: number;
  fee: number;
  commitments: number;
  confirmations: number;
}

/** What the stamper did in a step that the coordinator cares about. */
export type StepOutcome = 'started' | 'proved' | 'abandoned' | 'other';

/** A version missing from the mempool is sent again at most this often. */
const REBROADCAST_MS = 30_000;

export class Stamper {
  private readonly o: StamperOptions;
  private fees: FeePolicy;
  private readonly now: () => number;
  private readonly session: StampSession;
  private readonly coins: Coins;
  /** A start that failed waits until then. */
  private retryStartAt = 0;
  private feesSpent = 0;
  /** Why the last version could not go out (funds, a cap, the node's refusal); cleared by a broadcast. */
  private stampingProblem: string | undefined;

  constructor(options: StamperOptions) {
    this.o = options;
    this.fees = { ...DEFAULT_FEE_POLICY, ...options.fees };
    this.now = options.now ?? Date.now;
    this.session = new StampSession({
      minConfirmations: options.minConfirmations,
      rebroadcastMs: REBROADCAST_MS,
    });
    this.coins = new Coins(options.chain, options.key.script, options.node);
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

  /** The versions of the transaction in flight, oldest first (none when idle). */
  versionsInFlight(): readonly Version[] {
    return this.session.versions;
  }

  /**
   * The fee rate the own transaction would pay if it went out now: the next replacement's when one is
   * in flight (or its own, at the cap), else a first version's.
   */
  async wantedFeeRate(): Promise<number> {
    const latest = this.session.versions.at(-1);
    if (latest) return bumpedFeeRate(this.fees, latest.feeRate) ?? latest.feeRate;
    return firstFeeRate(this.fees, await this.o.node.estimateFeeRate(6));
  }

  /** The commitment records the versions in flight cover. */
  coveredRecords(): Set<number> {
    return new Set(this.session.versions.flatMap((v) => v.commitments));
  }

  /** Whether a transaction is in flight (or mined and not yet proved). */
  get inFlight(): boolean {
    return this.session.state.kind !== 'idle';
  }

  get address(): string {
    return this.o.key.address;
  }

  /** Fees of the own transactions proved since start. */
  get feesSpentSats(): number {
    return this.feesSpent;
  }

  /** Satoshis in the key's outputs in the chain, mature or not. */
  balance(): bigint {
    return this.coins.balance();
  }

  /** Whether the key holds an output that can be spent now: without one the fallback cannot pay. */
  canPay(): boolean {
    return this.coins.matureBalance() > 0n;
  }

  get problem(): string | undefined {
    return this.stampingProblem;
  }

  /** The mined version once there is one (its txid, what it covers), with the latest version's fee. */
  inFlightStatus(): InFlightStatus | undefined {
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
  async resume(): Promise<void> {
    const versions: Version[] = [];
    for (const position of this.o.calendar.index.openStamps()) {
      const record = await this.o.calendar.journal.readAt(position);
      const stamp = decodeStampPayload(record.payload);
      const tx = parseTransaction(stamp.rawTx);
      versions.push({
        record: position.number,
        commitments: stamp.commitments,
        tip: this.o.calendar.merkleTip(stamp.commitments),
        tx,
        raw: stamp.rawTx,
        fee: stamp.fee,
        feeRate: stamp.fee / Math.max(1, virtualSize(tx, stamp.rawTx.byteLength)),
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

  /**
   * Does what the session says after a pass over the chain. `startDue`: a transaction is due over what
   * is pending; `bumpWanted`: commitments are pending that no other source is proving.
   */
  async step(
    pass: { height: number; newBlocks: number },
    wants: { startDue: boolean; bumpWanted: boolean },
  ): Promise<StepOutcome> {
    const now = this.now();
    const effect = this.session.next(
      { ...pass, minedAt: (txid) => this.o.chain.minedAt(txid) },
      now,
      wants.startDue && now >= this.retryStartAt && this.o.calendar.index.pendingCount > 0,
      wants.bumpWanted,
    );
    switch (effect.kind) {
      case 'start':
        return (await this.startTransaction()) ? 'started' : 'other';
      case 'bump':
        if (await this.inputStillOurs(effect.latest)) await this.bump(effect.latest);
        return this.inFlight ? 'other' : 'abandoned';
      case 'rebroadcast':
        if (
          (await this.inputStillOurs(effect.latest)) &&
          !(await this.o.node.inMempool(effect.latest.tx.txid))
        )
          await this.broadcast(effect.latest);
        return this.inFlight ? 'other' : 'abandoned';
      case 'prove':
        await this.writeProof(effect.version, effect.at);
        return 'proved';
      case 'none':
        return 'other';
    }
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
    await this.endStamp(latest, StampOutcome.Abandoned);
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

  /** Whether a first version went out. */
  private async startTransaction(): Promise<boolean> {
    const feeRate = firstFeeRate(this.fees, await this.o.node.estimateFeeRate(6));
    let capped = false;
    for await (const coin of this.coins.spendable()) {
      const outcome = await this.sendVersion(coin, feeRate, 0);
      if (outcome === 'sent') return true;
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
    this.retryStartAt = this.now() + Math.min(60_000, this.o.stampIntervalMs);
    return false;
  }

  /** Builds, journals and broadcasts a version, unless the funds or a fee cap stop it. */
  private async sendVersion(
    input: SpendableOutput,
    feeRate: number,
    previousFee: number,
  ): Promise<'sent' | 'capped' | 'insufficient'> {
    const commitments = oldestPending(this.o.calendar.index);
    const tip = this.o.calendar.merkleTip(commitments);
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
    const stored = await this.o.calendar.journal.append(
      RecordKind.Stamp,
      encodeStampPayload({ commitments, fee, rawTx: built.raw }),
    );
    const version: Version = {
      record: stored.number,
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

  /**
   * The proof of the mined version (unless another source proved all it covers first), then the
   * stamp's end: in that order, so that a crash between them leaves the stamp open and a restart finds
   * it mined, its commitments proven, and writes only the end.
   */
  private async writeProof(version: Version, at: BlockRef): Promise<void> {
    const block = await this.o.node.block(at.height, at.hash);
    const tipTimestamp = bitcoinTipTimestamp(version.tip, version.tx, {
      height: at.height,
      header: block.header,
      txids: block.transactions.map((t) => t.txid),
    });
    await this.o.prove(version.commitments, tipTimestamp);
    await this.endStamp(version, StampOutcome.Mined);
    this.session.proved();
    this.feesSpent += version.fee;
    this.o.log.info(
      {
        txid: toHex(reverseBytes(version.tx.txid)),
        height: at.height,
        commitments: version.commitments.length,
        fee: version.fee,
      },
      'stamper: transaction proved',
    );
  }

  private async endStamp(version: Version, outcome: StampOutcome): Promise<void> {
    await this.o.calendar.journal.append(
      RecordKind.StampEnd,
      encodeStampEndPayload({ stamp: version.record, outcome }),
    );
    for (const v of this.session.versions) this.o.chain.unwatchTxid(v.tx.txid);
  }
}
