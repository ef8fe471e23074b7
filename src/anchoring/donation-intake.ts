/**
 * The checks of a donation posted to the calendar, in the order that costs least first: the rules on its
 * bytes (1-9), the tip offered (9), the caps (13), then what needs the node: the spent output confirmed
 * and of a native segwit kind with a standard witness (10, 4), the fee (11), no conflict in the mempool
 * but the donor's own earlier donation to the same tip (12), and the node's verdict (14, where the node
 * can give one without relaying: testmempoolaccept). Nothing is written or relayed here; the checks on
 * the calendar's state alone (checkOffline) also run before a post waits its turn.
 * @module
 */
import { checkSpend, type Donation, DonationRefused, parseDonation } from '../bitcoin/donation-rules.js';
import { toHex } from '../ots/index.js';
import type { AnchorNode } from './anchor-node.js';
import type { OfferedTip } from './offered-tips.js';
import { type DonationState, isActive, spentOutpoint, type TrackedDonation } from './tracked-donation.js';

/** States of a donation given up: the same transaction posted again is checked again. */
const GIVEN_UP: ReadonlySet<DonationState> = new Set(['expired', 'conflicted', 'replaced']);

/**
 * Bumps of one donation taken: each writes a record, and only the last mined costs its donor anything,
 * so a donor could otherwise fill the journal at the price of the incremental relay fee never paid.
 */
export const MAX_BUMPS = 8;

/** A coinbase output can be spent once it has this many confirmations. */
const COINBASE_MATURITY = 100;

export interface IntakeSettings {
  maxTxBytes: number;
  /** sat/vB */
  minFeeRate: number;
  maxPerTip: number;
  maxPending: number;
}

export interface IntakeView {
  /** The node's best block. */
  height: number;
  tip(tip: Uint8Array): OfferedTip | undefined;
  /** Whether `tip` was offered and is no longer because its commitments are proven. */
  proven(tip: Uint8Array): boolean;
  isPending(record: number): boolean;
  /** Every donation followed or kept, by id. */
  donations(): Iterable<TrackedDonation>;
}

export type IntakeNode = Pick<AnchorNode, 'chainOutput' | 'inMempool' | 'isUnspent' | 'testMempoolAccept'>;

/** A donation that passed every check the calendar makes before it is relayed. */
export interface Checked {
  donation: Donation;
  raw: Uint8Array;
  tip: OfferedTip;
  fee: number;
  feeRate: number;
  /** The donor's earlier donation to the same tip, spending the same coin, that this one replaces. */
  replaces: TrackedDonation | undefined;
  /** The node said it takes it (false: the node cannot say without relaying: bcoin). */
  nodeAccepted: boolean;
  /** Whether the node holds it in its mempool already: it is not relayed again. */
  held: boolean;
}

/** The same transaction posted again: its state is answered. */
export interface Known {
  known: TrackedDonation;
}

/** What the calendar's state alone says of a post: its bytes, the tip and the caps (rules 1-9, 13). */
export interface Offline {
  donation: Donation;
  tip: OfferedTip;
  replaces: TrackedDonation | undefined;
}

/**
 * The checks that ask nothing of the node: run before a post waits its turn (`finalAt` unbounded: the lock
 * time needs the node's height, asked in its turn) and again in its turn. A donation followed
 * and not given up (expired, conflicted, replaced: those are checked again) is answered as known.
 */
export function checkOffline(
  raw: Uint8Array,
  settings: IntakeSettings,
  view: IntakeView,
  finalAt: number,
): Offline | Known {
  const donation = parseDonation(raw, { maxTxBytes: settings.maxTxBytes, finalAt });
  const id = Buffer.from(donation.tx.txid).reverse().toString('hex');
  const followed = [...view.donations()];
  const known = followed.find((d) => d.id === id);
  if (known && !GIVEN_UP.has(known.state)) return { known };
  const tip = view.tip(donation.tip);
  if (!tip && view.proven(donation.tip))
    throw new DonationRefused('tip-proven', `${toHex(donation.tip)} is proven already`);
  if (!tip)
    throw new DonationRefused('tip-not-offered', `${toHex(donation.tip)} is not a tip this calendar offers`);
  if (!tip.commitments.some((n) => view.isPending(n)))
    throw new DonationRefused('tip-proven', `${toHex(donation.tip)} is proven already`);

  const input = donation.tx.inputs[0] as (typeof donation.tx.inputs)[number];
  const coin = spentOutpoint(input);
  const pending = followed.filter((d) => d.source === 'posted' && isActive(d.state));
  const replaces = pending.find(
    (d) => d.tip === tip && spentOutpoint(d.tx.inputs[0] as typeof input) === coin,
  );
  if (replaces && replaces.bumps >= MAX_BUMPS)
    throw new DonationRefused(
      'bumps',
      `the donation was bumped ${replaces.bumps} times already; at most ${MAX_BUMPS} are taken`,
    );
  if (!replaces) {
    const forTip = pending.filter((d) => d.tip === tip);
    if (forTip.length >= settings.maxPerTip) {
      const best = Math.max(...forTip.map((d) => d.feeRate ?? 0));
      throw new DonationRefused(
        'tip-full',
        `the tip has ${forTip.length} pending donations already, the best at ${best.toFixed(1)} sat/vB; bump yours instead`,
      );
    }
    if (pending.length >= settings.maxPending)
      throw new DonationRefused(
        'too-many',
        `${pending.length} donations are pending; retry after the next block`,
      );
  }
  return { donation, tip, replaces };
}

export async function checkPosted(
  raw: Uint8Array,
  settings: IntakeSettings,
  view: IntakeView,
  node: IntakeNode,
): Promise<Checked | Known> {
  const offline = checkOffline(raw, settings, view, view.height + 1);
  if ('known' in offline) return offline;
  const { donation, tip, replaces } = offline;
  const input = donation.tx.inputs[0] as (typeof donation.tx.inputs)[number];

  const spent = await node.chainOutput(input.prevTxid, input.prevIndex);
  if (!spent)
    throw new DonationRefused(
      'input-not-confirmed',
      'the spent output is not an unspent output of the chain (unconfirmed, spent or unknown)',
    );
  if (spent.coinbase && spent.confirmations < COINBASE_MATURITY)
    throw new DonationRefused(
      'input-not-confirmed',
      `the spent coinbase output has ${spent.confirmations} confirmations; ${COINBASE_MATURITY} required`,
    );
  checkSpend(spent.script, donation.tx.witnesses[0] ?? []);
  const paid = donation.tx.outputs.reduce((sum, o) => sum + o.value, 0n);
  const fee = Number(spent.value - paid);
  const feeRate = fee / donation.vsize;
  if (fee <= 0 || feeRate < settings.minFeeRate)
    throw new DonationRefused(
      'fee-rate',
      `a fee of ${fee} sat is ${feeRate.toFixed(2)} sat/vB; at least ${settings.minFeeRate} required`,
    );
  // relayed already (by the donor's wallet, or by this calendar before a crash or a timeout took its
  // answer): the node took it, and the coin it spends is spent by it, not by a conflict
  if (await node.inMempool(donation.tx.txid))
    return { donation, raw, tip, fee, feeRate, replaces, nodeAccepted: true, held: true };
  if (!replaces && !(await node.isUnspent(input.prevTxid, input.prevIndex, true)))
    throw new DonationRefused(
      'conflict',
      'the spent output is spent in the mempool already, by no donation of yours to this tip',
    );
  const verdict = await node.testMempoolAccept(raw);
  if (verdict && !verdict.allowed) throw new DonationRefused('node-refused', verdict.reason);
  return { donation, raw, tip, fee, feeRate, replaces, nodeAccepted: verdict !== undefined, held: false };
}
