/**
 * External stamping: a source of proofs through transactions other people pay for. The calendar offers
 * tips (offered-tips.ts); anyone may post a transaction committing to one (`POST /external/tx`), which
 * is checked against every rule (donation-intake.ts), relayed through the calendar's node, journaled
 * as a donation record once the node holds it, and then followed (tracked-donation.ts). A conforming transaction committing to
 * an offered tip is also found in its block when it was never posted (passive discovery).
 *
 * Once such a transaction is `minConfirmations` deep, the tip's commitments are proven through it by
 * an ordinary proof record; the first proof written for a commitment is the one served. Of several in
 * the first block holding any, the one with the fewest non-witness bytes (then the first in the block)
 * is used, as python-opentimestamps' make_timestamp_from_block would.
 *
 * While a posted donation paying at least the fee rate the own transaction would pay now is pending,
 * the own transaction waits on its tip's commitments, for at most `waitBlocks` blocks after the first
 * such donation covering any of them was taken (later donations never extend it); the wait ends when the
 * donation is seen out of the mempool (double-spent or dropped), looked at on each block and every 30 s
 * while the own transaction waits. A donation followed again after a restart is weighed again on the
 * first pass, its wait counted from when it was taken, and its state asked of the node. A calendar whose own transaction sends nothing (an empty wallet) offers the tip of what is
 * pending on each block, so it can be anchored by donations alone.
 * @module
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { bitcoinTipTimestamp } from '../bitcoin/bitcoin-proof.js';
import { checkDonation, DonationRefused, parseDonation, type Refusal } from '../bitcoin/donation-rules.js';
import { RpcError } from '../bitcoin/rpc-client.js';
import type { Calendar } from '../calendar/calendar.js';
import { decodeDonationPayload, encodeDonationPayload } from '../journal/donation-payload.js';
import { RecordKind } from '../journal/record.js';
import { type BitcoinTransaction, equalBytes, reverseBytes, type TxInput, toHex } from '../ots/index.js';
import type { AnchorNode } from './anchor-node.js';
import type { ChainFollower } from './chain-follower.js';
import { clientGroup } from './client-address.js';
import type { ChainPass, ProofSource, Prove } from './coordinator.js';
import { checkOffline, checkPosted, type IntakeSettings, type IntakeView } from './donation-intake.js';
import { type OfferedTip, OfferedTips } from './offered-tips.js';
import type { Stamper } from './stamper.js';
import {
  DONATION_STATES,
  type DonationState,
  isActive,
  spentOutpoint,
  type TrackedDonation,
} from './tracked-donation.js';

export interface ExternalSettings extends IntakeSettings {
  /** Longest wait of the own transaction on a pending donation, in blocks (0: never waits). */
  waitBlocks: number;
  /** How long a tip stays offered, in blocks. */
  tipWindowBlocks: number;
}

export const DEFAULT_EXTERNAL_SETTINGS: ExternalSettings = {
  waitBlocks: 2,
  tipWindowBlocks: 144,
  maxTxBytes: 1000,
  minFeeRate: 1,
  maxPerTip: 2,
  maxPending: 16,
};

/** After relaying a donation, the node's mempool is asked this many times, this far apart, for it. */
const HELD_CHECKS = 10;
const HELD_CHECK_MS = 100;

/** Donations in a final state kept for `GET /external/tx/<txid>`, the oldest dropped first. */
const KEPT_FINAL = 1000;

/** Tips dropped as proven, remembered (the oldest forgotten first) to answer a donation to one 410. */
const KEPT_PROVEN_TIPS = 1000;

/** Posts waiting for their turn (each asks the node a few times), in all and from one client. */
const MAX_QUEUED_POSTS = 32;
/** From one IPv4 address or one IPv6 /64 (client-address.ts). */
const MAX_QUEUED_PER_CLIENT = 2;

/** Refusals the node's checks gave, by the posted bytes, answered again until the next block. */
const MAX_CACHED_REFUSALS = 10_000;
/**
 * The refusals kept for the rest of the block: those the chain and the node decide (the spent
 * output, the lock time, the fee, the node's own verdict), which hold until the chain moves. Those of
 * the calendar's and the mempool's state (a conflict, a full tip, too many pending) may change within
 * a block: an honest post that lost a race for a slot is checked again.
 */
const NODE_REFUSALS: ReadonlySet<Refusal> = new Set([
  'input-witness',
  'lock-time',
  'input-not-confirmed',
  'fee-rate',
  'node-refused',
]);

/** While the own transaction waits on a donation, the mempool is looked at this often (and on each block). */
const MEMPOOL_CHECK_MS = 30_000;

/** A post refused before its turn: too many posts wait (429, retry later). */
export class IntakeBusy extends Error {
  override name = 'IntakeBusy';
}

export interface ExternalStampingOptions {
  settings: ExternalSettings;
  calendar: Calendar;
  node: AnchorNode;
  chain: Pick<
    ChainFollower,
    'watchOutputScript' | 'unwatchOutputScript' | 'requireFrom' | 'transactionsPaying' | 'height'
  >;
  own: Pick<Stamper, 'versionsInFlight' | 'wantedFeeRate'>;
  minConfirmations: number;
  prove: Prove;
  log: Pick<Logger, 'info' | 'warn'>;
}

/** What `POST /external/tx` and `GET /external/tx/<txid>` answer about a donation. */
export interface DonationView {
  txid: string;
  tip: string;
  commitments: number;
  state: DonationState;
  fee_rate: number | null;
  defers_own_tx_until: number | null;
  height: number | null;
  confirmations: number | null;
}

/** The outcome of a post: taken now (202), or the same transaction posted before (200). */
export interface Posted {
  taken: boolean;
  donation: DonationView;
}

export interface TipsView {
  height: number;
  min_fee_rate: number;
  max_tx_bytes: number;
  tips: {
    tip: string;
    commitments: number;
    offered_at: number;
    own_tx: { txid: string; fee_rate: number } | null;
    /** The height before which the own transaction waits on a donation to this tip, if it waits. */
    own_tx_not_before: number | null;
    external: { txid: string; fee_rate: number | null; state: DonationState }[];
  }[];
}

export interface ExternalStatus {
  offeredTips: number;
  donations: Record<DonationState, number>;
  /** Fees paid by donations whose proof was written: what the calendar did not spend. */
  feesSavedSats: number;
}

export class ExternalStamping implements ProofSource {
  private readonly o: ExternalStampingOptions;
  readonly tips: OfferedTips;
  /** By id (display txid), in the order taken. */
  private readonly donations = new Map<string, TrackedDonation>();
  /** Commitment records the own transaction leaves to a pending donation for now. */
  private deferred = new Set<number>();
  /**
   * The height each pending commitment was first covered by a donation the own transaction waits on:
   * it waits at most `waitBlocks` from there, whatever donations come later.
   */
  private readonly coveredSince = new Map<number, number>();
  private feesSaved = 0;
  /** Transactions paying an offered tip's script that break rules 1-9 (txid, hex), while the tip is offered. */
  private readonly nonConforming = new Map<string, OfferedTip>();
  /** Tips dropped because their commitments are proven (hex), in the order dropped. */
  private readonly provenTips = new Set<string>();
  /** Donations read back at start, whose wait is weighed on the first pass (it asks the node). */
  private resumed: TrackedDonation[] = [];
  /** The mempool is looked at on the next pass whatever the time (after a restart). */
  private mempoolDue = false;
  private mempoolCheckedAt = 0;
  /** Posts are checked and taken one at a time, so the caps hold. */
  private intake: Promise<unknown> = Promise.resolve();
  /** Posts waiting for their turn, in all and by client (its clientGroup). */
  private queued = 0;
  private readonly queuedBy = new Map<string, number>();
  /** The node's refusals, by the posted bytes' SHA-256 (the wtxid's job), and the height they hold for. */
  private refusals = new Map<string, DonationRefused>();
  private refusalsAt = -1;

  constructor(options: ExternalStampingOptions) {
    this.o = options;
    this.tips = new OfferedTips({
      calendar: options.calendar,
      chain: options.chain,
      windowBlocks: options.settings.tipWindowBlocks,
    });
  }

  get settings(): ExternalSettings {
    return this.o.settings;
  }

  async resume(): Promise<void> {
    await this.tips.resume();
    this.tips.followOwn(this.o.own.versionsInFlight());
    const { calendar } = this.o;
    for (const position of calendar.index.openDonations()) {
      const record = await calendar.journal.readAt(position);
      const payload = decodeDonationPayload(record.payload);
      const donation = parseDonation(payload.rawTx, {
        maxTxBytes: payload.rawTx.byteLength,
        finalAt: Number.MAX_SAFE_INTEGER,
      });
      const tip = this.tips.add({
        tip: donation.tip,
        commitments: payload.commitments,
        offeredAt: payload.height,
      });
      this.o.chain.requireFrom(payload.height);
      const tracked: TrackedDonation = {
        id: toHex(reverseBytes(donation.tx.txid)),
        tip,
        tx: donation.tx,
        raw: payload.rawTx,
        source: 'posted',
        fee: payload.fee,
        feeRate: payload.fee / donation.vsize,
        takenAt: payload.height,
        bumps: 0,
        deferUntil: undefined,
        state: 'mempool',
        minedAt: undefined,
      };
      // records come in the order taken: the donor's earlier donation to the tip from the same coin was replaced
      const coin = spentOutpoint(donation.tx.inputs[0] as TxInput);
      for (const d of this.resumed) {
        if (d.state !== 'mempool' || d.tip !== tip || spentOutpoint(d.tx.inputs[0] as TxInput) !== coin)
          continue;
        d.state = 'replaced';
        tracked.bumps = d.bumps + 1;
      }
      this.track(tracked);
      this.resumed.push(tracked);
    }
    // the others' real state (double-spent, dropped) is asked of the node on the first pass
    this.mempoolDue = this.resumed.length > 0;
  }

  async afterPass(pass: ChainPass): Promise<boolean> {
    this.tips.followOwn(this.o.own.versionsInFlight());
    await this.proveMined(pass.height);
    const waiting = this.deferred.size > 0 && Date.now() - this.mempoolCheckedAt >= MEMPOOL_CHECK_MS;
    if (pass.newBlocks > 0 || this.mempoolDue || waiting) {
      if (await this.checkMempool()) {
        this.mempoolDue = false;
        this.mempoolCheckedAt = Date.now();
      }
    }
    const dropped = this.tips.prune(pass.height, pass.newBlocks > 0, (tip) =>
      this.forTip(tip).some((d) => isActive(d.state)),
    );
    for (const tip of dropped) {
      if (!tip.commitments.some((n) => this.o.calendar.index.isPending(n))) this.rememberProven(tip);
      for (const d of this.forTip(tip)) if (isActive(d.state)) this.settle(d, 'expired');
      for (const [txid, of] of this.nonConforming) if (of === tip) this.nonConforming.delete(txid);
    }
    const resumed = this.resumed.splice(0);
    // every donation read back counts for the first-covered heights, also one double-spent since: a
    // later donation's wait is never counted from its own height instead (the bound per commitment)
    for (const d of resumed) this.cover(d.tip.commitments, d.takenAt);
    for (const d of resumed) {
      if (!isActive(d.state)) continue;
      d.deferUntil = await this.deferral(d.feeRate ?? 0, d.takenAt, d.tip.commitments);
    }
    return this.updateDeferral(pass.height);
  }

  /** Tips are offered after each step of the own transaction (afterStep): a stamp cycle adds nothing. */
  async cycle(): Promise<void> {}

  /** After the own step: its new version's tip is offered; with nothing in flight, the tip of what is pending. */
  async afterStep(pass: ChainPass): Promise<void> {
    const versions = this.o.own.versionsInFlight();
    this.tips.followOwn(versions);
    if (versions.length === 0) await this.tips.offer(pass.height, true);
  }

  waitsOn(record: number): boolean {
    return this.deferred.has(record);
  }

  offeredTip(): Uint8Array | undefined {
    return this.tips.newest()?.tip;
  }

  describePending(record: number): string | undefined {
    for (const d of this.donations.values()) {
      if (d.state !== 'mined' || !d.tip.commitments.includes(record)) continue;
      return `Timestamped by transaction ${d.id}; waiting for ${this.o.minConfirmations} confirmations`;
    }
    return undefined;
  }

  /**
   * Checks, relays and journals a posted donation; throws DonationRefused naming the rule it breaks, or
   * IntakeBusy when too many posts (or too many of `client`'s) wait for their turn. What needs no node
   * is checked before the post waits; a refusal the node's checks gave is answered again until the next block.
   */
  async post(raw: Uint8Array, client: string): Promise<Posted> {
    const offline = checkOffline(
      raw,
      this.o.settings,
      this.intakeView(Number.MAX_SAFE_INTEGER),
      Number.MAX_SAFE_INTEGER,
    );
    if ('known' in offline) return { taken: false, donation: this.view(offline.known) };
    const key = createHash('sha256').update(raw).digest('hex');
    if (this.refusalsAt !== this.o.chain.height) {
      this.refusals = new Map();
      this.refusalsAt = this.o.chain.height;
    }
    const refused = this.refusals.get(key);
    if (refused) throw refused;
    const group = clientGroup(client);
    const mine = this.queuedBy.get(group) ?? 0;
    if (this.queued >= MAX_QUEUED_POSTS || mine >= MAX_QUEUED_PER_CLIENT)
      throw new IntakeBusy(
        mine >= MAX_QUEUED_PER_CLIENT
          ? 'too many of your posts are being checked'
          : 'too many posts are being checked',
      );
    this.queued += 1;
    this.queuedBy.set(group, mine + 1);
    const next = this.intake.then(() => this.take(raw));
    this.intake = next.catch(() => undefined);
    try {
      return await next;
    } catch (e) {
      if (
        e instanceof DonationRefused &&
        NODE_REFUSALS.has(e.refusal) &&
        this.refusals.size < MAX_CACHED_REFUSALS
      )
        this.refusals.set(key, e);
      throw e;
    } finally {
      this.queued -= 1;
      const left = (this.queuedBy.get(group) ?? 1) - 1;
      if (left > 0) this.queuedBy.set(group, left);
      else this.queuedBy.delete(group);
    }
  }

  donation(id: string): DonationView | undefined {
    const d = this.donations.get(id);
    return d && this.view(d);
  }

  tipsView(): TipsView {
    const { settings } = this.o;
    return {
      height: this.o.chain.height,
      min_fee_rate: settings.minFeeRate,
      max_tx_bytes: settings.maxTxBytes,
      tips: this.tips.all().map((tip) => {
        const donations = this.forTip(tip).filter((d) => isActive(d.state));
        const waits = donations.map((d) => d.deferUntil).filter((h): h is number => h !== undefined);
        return {
          tip: toHex(tip.tip),
          commitments: tip.commitments.length,
          offered_at: tip.offeredAt,
          own_tx: tip.ownTxid === undefined ? null : { txid: tip.ownTxid, fee_rate: tip.ownFeeRate ?? 0 },
          own_tx_not_before: waits.length > 0 ? Math.max(...waits) : null,
          external: donations.map((d) => ({ txid: d.id, fee_rate: d.feeRate ?? null, state: d.state })),
        };
      }),
    };
  }

  status(): ExternalStatus {
    const donations = Object.fromEntries(DONATION_STATES.map((s) => [s, 0])) as Record<DonationState, number>;
    for (const d of this.donations.values()) donations[d.state] += 1;
    return { offeredTips: this.tips.size, donations, feesSavedSats: this.feesSaved };
  }

  private async take(raw: Uint8Array): Promise<Posted> {
    const { calendar, settings, node, log } = this.o;
    // the node's height, not the calendar's, which lags while it catches up: rule 6 and the wait count from it
    const height = await node.blockCount();
    const checked = await checkPosted(raw, settings, this.intakeView(height), node);
    if ('known' in checked) return { taken: false, donation: this.view(checked.known) };
    const takenAt = checked.replaces?.takenAt ?? height;
    const deferUntil = await this.deferral(checked.feeRate, takenAt, checked.tip.commitments);
    const donation: TrackedDonation = {
      id: toHex(reverseBytes(checked.donation.tx.txid)),
      tip: checked.tip,
      tx: checked.donation.tx,
      raw,
      source: 'posted',
      fee: checked.fee,
      feeRate: checked.feeRate,
      takenAt,
      bumps: checked.replaces ? checked.replaces.bumps + 1 : 0,
      deferUntil,
      state: 'mempool',
      minedAt: undefined,
    };
    // relayed before it is journaled: nothing is written for a post the node refuses or drops; one
    // relayed and then lost to a crash before its 202 is still found in its block (passive discovery)
    if (!checked.held) await this.relay(donation, checked.nodeAccepted);
    await calendar.journal.append(
      RecordKind.Donation,
      encodeDonationPayload({
        commitments: checked.tip.commitments,
        height: takenAt,
        fee: checked.fee,
        rawTx: raw,
      }),
    );
    this.track(donation);
    if (deferUntil !== undefined) this.cover(checked.tip.commitments, takenAt);
    if (checked.replaces) this.settle(checked.replaces, 'replaced');
    this.updateDeferral(this.o.chain.height);
    log.info(
      { txid: donation.id, tip: toHex(checked.tip.tip), feeRate: checked.feeRate, deferUntil },
      'external: donation taken',
    );
    return { taken: true, donation: this.view(donation) };
  }

  private intakeView(height: number): IntakeView {
    return {
      height,
      tip: (tip) => this.tips.get(tip),
      proven: (tip) => this.provenTips.has(toHex(tip)),
      isPending: (n) => this.o.calendar.index.isPending(n),
      donations: () => this.donations.values(),
    };
  }

  /**
   * The height before which the own transaction waits on the donation, if it waits at all: `waitBlocks`
   * after it was taken, or after the first donation that covered any of its commitments, if earlier.
   */
  private async deferral(
    feeRate: number,
    takenAt: number,
    commitments: readonly number[],
  ): Promise<number | undefined> {
    const { waitBlocks } = this.o.settings;
    if (waitBlocks === 0) return undefined;
    if (feeRate < (await this.o.own.wantedFeeRate())) return undefined;
    let since = takenAt;
    for (const n of commitments) since = Math.min(since, this.coveredSince.get(n) ?? since);
    return since + waitBlocks;
  }

  private rememberProven(tip: OfferedTip): void {
    this.provenTips.add(toHex(tip.tip));
    for (const old of this.provenTips) {
      if (this.provenTips.size <= KEPT_PROVEN_TIPS) break;
      this.provenTips.delete(old);
    }
  }

  /** Notes that a donation the own transaction waits on covers `commitments` from `takenAt`. */
  private cover(commitments: readonly number[], takenAt: number): void {
    for (const n of commitments)
      this.coveredSince.set(n, Math.min(takenAt, this.coveredSince.get(n) ?? takenAt));
  }

  /**
   * Sends it; a node that cannot test without relaying (bcoin) must then hold it in its mempool. The
   * node's refusal is rule 14; a node that does not answer (an RpcError without a code) is thrown as is.
   */
  private async relay(donation: TrackedDonation, nodeAccepted: boolean): Promise<void> {
    const { node } = this.o;
    let refusal: string | undefined;
    try {
      await node.sendRawTransaction(donation.raw as Uint8Array);
      if (!nodeAccepted && !(await this.held(donation)))
        refusal = 'the node dropped it: not in its mempool after relay';
    } catch (e) {
      if (!(e instanceof RpcError) || e.code === undefined) throw e;
      refusal = e.message;
    }
    if (refusal !== undefined) throw new DonationRefused('node-refused', refusal);
  }

  /**
   * Whether the node holds the donation in its mempool, asked a few times: bcoin takes a transaction
   * into its mempool after answering sendrawtransaction, and drops one it refuses without a word.
   */
  private async held(donation: TrackedDonation): Promise<boolean> {
    for (let asked = 0; asked < HELD_CHECKS; asked++) {
      if (asked > 0) await sleep(HELD_CHECK_MS);
      if (await this.o.node.inMempool(donation.tx.txid)) return true;
    }
    return false;
  }

  private track(donation: TrackedDonation): void {
    this.donations.set(donation.id, donation);
    const finals = [...this.donations.values()].filter((d) => !isActive(d.state));
    for (const d of finals.slice(0, Math.max(0, finals.length - KEPT_FINAL))) this.donations.delete(d.id);
  }

  private settle(donation: TrackedDonation, state: DonationState): void {
    donation.state = state;
    donation.deferUntil = undefined;
  }

  private forTip(tip: OfferedTip): TrackedDonation[] {
    return [...this.donations.values()].filter((d) => d.tip === tip);
  }

  /**
   * For each offered tip, the conforming transactions paying it that the chain holds (the own
   * transaction's versions aside: the stamper proves those): the state of those followed, and the
   * proof through the best of the first block's once it is deep enough.
   */
  private async proveMined(height: number): Promise<void> {
    const own = new Set(this.o.own.versionsInFlight().map((v) => toHex(v.tx.txid)));
    for (const tip of this.tips.all()) {
      const payments = this.o.chain
        .transactionsPaying(tip.script)
        .filter((p) => !own.has(toHex(p.txid)) && !this.nonConforming.has(toHex(p.txid)));
      const mined = new Map(payments.map((p) => [toHex(reverseBytes(p.txid)), p.block]));
      for (const d of this.forTip(tip)) {
        if (!isActive(d.state)) continue;
        d.minedAt = mined.get(d.id);
        d.state = d.minedAt ? 'mined' : 'mempool';
      }
      const first = payments.reduce<(typeof payments)[number] | undefined>(
        (best, p) => (!best || p.block.height < best.block.height ? p : best),
        undefined,
      );
      if (!first || height - first.block.height + 1 < this.o.minConfirmations) continue;
      await this.proveThrough(tip, first.block, own);
    }
  }

  private async proveThrough(
    tip: OfferedTip,
    at: { height: number; hash: string },
    own: Set<string>,
  ): Promise<void> {
    const block = await this.o.node.block(at.height, at.hash);
    const candidates: BitcoinTransaction[] = [];
    for (const tx of block.transactions) {
      if (own.has(toHex(tx.txid)) || !tx.outputs.some((o) => equalBytes(o.script, tip.script))) continue;
      if (this.conforms(tx, at.height)) candidates.push(tx);
      else this.nonConforming.set(toHex(tx.txid), tip);
    }
    // a stable sort: of the smallest, the first in the block
    candidates.sort((a, b) => a.nonWitnessBytes.byteLength - b.nonWitnessBytes.byteLength);
    const best = candidates[0];
    if (!best) return;
    const timestamp = bitcoinTipTimestamp(tip.tip, best, {
      height: at.height,
      header: block.header,
      txids: block.transactions.map((t) => t.txid),
    });
    const id = toHex(reverseBytes(best.txid));
    const written = await this.o.prove(tip.commitments, timestamp, `donation ${id}`);
    let donation = this.donations.get(id);
    if (!donation) {
      donation = {
        id,
        tip,
        tx: best,
        raw: undefined,
        source: 'seen',
        fee: undefined,
        feeRate: undefined,
        takenAt: at.height,
        bumps: 0,
        deferUntil: undefined,
        state: 'mined',
        minedAt: at,
      };
      this.track(donation);
    }
    if (written) this.feesSaved += donation.fee ?? 0;
    for (const d of this.forTip(tip)) {
      if (isActive(d.state)) this.settle(d, d === donation && written ? 'proven' : 'superseded');
    }
    this.o.log.info(
      { txid: id, height: at.height, written, source: donation.source },
      'external: donation mined',
    );
  }

  /** Rules 1-9 on a transaction found in a block (paying an offered tip's script). */
  private conforms(tx: BitcoinTransaction, height: number): boolean {
    try {
      checkDonation(tx, { maxTxBytes: this.o.settings.maxTxBytes, finalAt: height });
      return true;
    } catch (e) {
      if (e instanceof DonationRefused) return false;
      throw e;
    }
  }

  /**
   * On each block the calendar reads at the node's tip, every posted donation still waited for and not
   * mined: in the mempool, or sent again; its coin spent by another transaction makes it conflicted, a node that no longer takes it
   * expired.
   */
  private async checkMempool(): Promise<boolean> {
    const { node } = this.o;
    // while the calendar catches up, a donation in a block it has not read yet would look double-spent
    if ((await node.blockCount()) > this.o.chain.height) return false;
    for (const d of this.donations.values()) {
      if (d.state !== 'mempool' || !d.raw) continue;
      if (await node.inMempool(d.tx.txid)) continue;
      const input = d.tx.inputs[0] as (typeof d.tx.inputs)[number];
      if (!(await node.isUnspent(input.prevTxid, input.prevIndex, true))) {
        this.settle(d, 'conflicted');
        this.o.log.info({ txid: d.id, coin: spentOutpoint(input) }, 'external: donation double-spent');
        continue;
      }
      let dropped: string | undefined;
      try {
        await node.sendRawTransaction(d.raw);
        if (!(await this.held(d))) dropped = 'not in its mempool after relay';
      } catch (e) {
        if (!(e instanceof RpcError)) throw e;
        // a node that does not answer says nothing of the donation: asked again at the next check
        if (e.code === undefined) return false;
        dropped = e.message;
      }
      if (dropped === undefined) continue;
      this.settle(d, 'expired');
      this.o.log.info({ txid: d.id, error: dropped }, 'external: donation dropped by the node');
    }
    return true;
  }

  /** The commitments waited on now; true when a wait ended without a proof (the own transaction is due). */
  private updateDeferral(height: number): boolean {
    const before = this.deferred;
    this.deferred = new Set();
    for (const d of this.donations.values()) {
      if (d.deferUntil !== undefined && height >= d.deferUntil) d.deferUntil = undefined;
      if (d.deferUntil === undefined || !isActive(d.state)) continue;
      for (const n of d.tip.commitments) this.deferred.add(n);
    }
    const { index } = this.o.calendar;
    for (const n of this.coveredSince.keys()) if (!index.isPending(n)) this.coveredSince.delete(n);
    return [...before].some((n) => !this.deferred.has(n) && index.isPending(n));
  }

  private view(d: TrackedDonation): DonationView {
    const height = this.o.chain.height;
    return {
      txid: d.id,
      tip: toHex(d.tip.tip),
      commitments: d.tip.commitments.length,
      state: d.state,
      fee_rate: d.feeRate ?? null,
      defers_own_tx_until: d.deferUntil ?? null,
      height: d.minedAt?.height ?? null,
      confirmations: d.minedAt ? height - d.minedAt.height + 1 : null,
    };
  }
}
