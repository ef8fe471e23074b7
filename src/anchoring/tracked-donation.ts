/**
 * A donation the calendar follows: posted to it and taken, or found in a block committing to a tip it
 * offers. Its state, as `GET /external/tx/<txid>` tells it:
 *
 *   mempool ──in a block──► mined ──deep enough: the proof through it written──► proven
 *     │  ▲                    │ └── its commitments proven another way first ──► superseded
 *     │  └── its block left the chain
 *     ├── the donor's later donation to the same tip spends the same coin ──► replaced
 *     ├── its coin spent by a transaction that is no donation ──► conflicted
 *     └── out of the mempool, and not sent again ──► expired
 * @module
 */
import type { BitcoinTransaction, TxInput } from '../ots/index.js';
import type { OfferedTip } from './offered-tips.js';
import type { BlockRef } from './scan-state.js';

export const DONATION_STATES = [
  'mempool',
  'mined',
  'proven',
  'superseded',
  'replaced',
  'conflicted',
  'expired',
] as const;
export type DonationState = (typeof DONATION_STATES)[number];

/** The states of a donation still followed; the others are final. */
export const isActive = (state: DonationState) => state === 'mempool' || state === 'mined';

export interface TrackedDonation {
  /** Display order (as a donor and explorers write it). */
  id: string;
  tip: OfferedTip;
  tx: BitcoinTransaction;
  /** With witness: what is relayed (one found in a block has none kept). */
  raw: Uint8Array | undefined;
  /** Posted to the calendar, or seen in a block without being posted. */
  source: 'posted' | 'seen';
  /** Satoshis, when known (posted ones: their spent output is looked up). */
  fee: number | undefined;
  feeRate: number | undefined;
  /** The height it was taken at, or the first of those it replaced: the deferral counts from there. */
  takenAt: number;
  /** How many donations of its donor to the tip, from the same coin, it replaced one after the other. */
  bumps: number;
  /** The own transaction waits on its commitments before this height (undefined: it does not wait). */
  deferUntil: number | undefined;
  state: DonationState;
  minedAt: BlockRef | undefined;
}

export const spentOutpoint = (input: TxInput) =>
  `${Buffer.from(input.prevTxid).toString('hex')}:${input.prevIndex}`;
