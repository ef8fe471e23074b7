/**
 * The tips a calendar offers to donors (external stamping): the merkle tips of its pending commitments
 * that anyone's transaction may commit to. Two kinds: the tip of each version of the own transaction
 * (its stamp record holds the commitments), and a tip no own transaction carries, written to the journal
 * as an offer record before it is first served, at most once a block (and once a stamp cycle when the
 * own transaction waits), and only when it would be new. A tip stays offered while some of its
 * commitments are pending, for at most `windowBlocks` after it was offered (longer while a donation to
 * it is followed). Every offered tip's OP_RETURN script is watched in the chain, so a transaction
 * committing to it is found in its block whether or not it was posted.
 * @module
 */
import type { Calendar } from '../calendar/calendar.js';
import { decodeOfferPayload, encodeOfferPayload } from '../journal/offer-payload.js';
import { RecordKind } from '../journal/record.js';
import { concatBytes, reverseBytes, toHex } from '../ots/index.js';
import type { ChainFollower } from './chain-follower.js';
import { oldestPending } from './oldest-pending.js';
import type { Version } from './stamp-session.js';

export interface OfferedTip {
  tip: Uint8Array;
  /** `OP_RETURN PUSH32 <tip>`: the output a donation pays. */
  script: Uint8Array;
  /** Its commitment records, ascending: the merkle tree's leaves. */
  commitments: number[];
  /** The height it was offered at. */
  offeredAt: number;
  /** Its offer record, when no own transaction carries it. */
  offer: number | undefined;
  /** The own transaction's version that carries it (display txid), when one does. */
  ownTxid: string | undefined;
  ownFeeRate: number | undefined;
}

export interface OfferedTipsOptions {
  calendar: Calendar;
  chain: Pick<ChainFollower, 'watchOutputScript' | 'unwatchOutputScript' | 'requireFrom'>;
  windowBlocks: number;
}

const sameList = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((n, i) => n === b[i]);

export class OfferedTips {
  private readonly o: OfferedTipsOptions;
  /** By tip (hex), oldest first. */
  private readonly tips = new Map<string, OfferedTip>();
  /** The height of the last offer made on a new block. */
  private lastOfferHeight = -1;
  /** The pending count when tips were last checked for being proven. */
  private checkedAt = -1;

  constructor(options: OfferedTipsOptions) {
    this.o = options;
  }

  get size(): number {
    return this.tips.size;
  }

  get(tip: Uint8Array): OfferedTip | undefined {
    return this.tips.get(toHex(tip));
  }

  /** Oldest first. */
  all(): OfferedTip[] {
    return [...this.tips.values()];
  }

  newest(): OfferedTip | undefined {
    let last: OfferedTip | undefined;
    for (const tip of this.tips.values()) last = tip;
    return last;
  }

  /** The open offer records, offered again after a restart; a fresh scan of the chain reaches their heights. */
  async resume(): Promise<void> {
    for (const position of this.o.calendar.index.openOffers()) {
      const record = await this.o.calendar.journal.readAt(position);
      const offer = decodeOfferPayload(record.payload);
      this.add({ ...offer, offer: position.number, offeredAt: offer.height });
      this.o.chain.requireFrom(offer.height);
    }
  }

  /** A tip known from elsewhere (a donation's record after a restart), followed like an offered one. */
  add(t: {
    tip: Uint8Array;
    commitments: number[];
    offeredAt: number;
    offer?: number | undefined;
  }): OfferedTip {
    const known = this.get(t.tip);
    if (known) return known;
    const tip: OfferedTip = {
      tip: t.tip,
      script: concatBytes(Uint8Array.from([0x6a, 0x20]), t.tip),
      commitments: t.commitments,
      offeredAt: t.offeredAt,
      offer: t.offer,
      ownTxid: undefined,
      ownFeeRate: undefined,
    };
    this.tips.set(toHex(t.tip), tip);
    this.o.chain.watchOutputScript(tip.script);
    return tip;
  }

  /** The own transaction's versions: each one's tip is offered, and says which version carries it. */
  followOwn(versions: readonly Version[]): void {
    for (const version of versions) {
      const tip = this.add({
        tip: version.tip,
        commitments: version.commitments,
        offeredAt: version.tx.lockTime,
      });
      tip.ownTxid = toHex(reverseBytes(version.tx.txid));
      tip.ownFeeRate = version.feeRate;
    }
  }

  /**
   * Offers the tip of everything pending (the oldest MAX_COVERED_RECORDS, as the own transaction would
   * take), unless the newest tip already is that: journaled first. `newBlock`: the offer of a new block
   * (at most one per height); otherwise a stamp cycle's, which the own transaction will not carry now.
   */
  async offer(height: number, newBlock: boolean): Promise<OfferedTip | undefined> {
    if (newBlock && height <= this.lastOfferHeight) return undefined;
    const commitments = oldestPending(this.o.calendar.index);
    if (commitments.length === 0) return undefined;
    if (newBlock) this.lastOfferHeight = height;
    const newest = this.newest();
    if (newest && sameList(newest.commitments, commitments)) return undefined;
    const tip = this.o.calendar.merkleTip(commitments);
    const stored = await this.o.calendar.journal.append(
      RecordKind.Offer,
      encodeOfferPayload({ commitments, tip, height }),
    );
    return this.add({ tip, commitments, offeredAt: height, offer: stored.number });
  }

  /**
   * Stops offering the tips whose commitments are all proven (looked at on a new block, or when the
   * pending count changed: a tip holds up to MAX_COVERED_RECORDS), and those offered more than
   * `windowBlocks` ago that `keep` does not hold (a donation followed); returns what was dropped.
   */
  prune(height: number, newBlock: boolean, keep: (tip: OfferedTip) => boolean): OfferedTip[] {
    const index = this.o.calendar.index;
    const dropped: OfferedTip[] = [];
    const proofsSince = newBlock || index.pendingCount !== this.checkedAt;
    this.checkedAt = index.pendingCount;
    for (const [key, tip] of this.tips) {
      const proven = proofsSince && !tip.commitments.some((n) => index.isPending(n));
      const old = height > tip.offeredAt + this.o.windowBlocks && !keep(tip);
      if (!proven && !old) continue;
      this.tips.delete(key);
      this.o.chain.unwatchOutputScript(tip.script);
      dropped.push(tip);
    }
    return dropped;
  }
}
