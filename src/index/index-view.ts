/**
 * The parts the index is made of. Each view derives one kind of answer from the journal into LMDB
 * sub-databases it opens for itself; CalendarIndex opens them all through one function, so that
 * clearing the index clears every one, and applies each record to every view in one transaction.
 * @module
 */
import type { Database } from 'lmdb';
import type { DelegationPayload } from '../journal/delegation-payload.js';
import type { DonationPayload } from '../journal/donation-payload.js';
import type { StoredRecord } from '../journal/journal.js';
import type { MerkleLevels } from '../journal/merkle-levels.js';
import type { OfferPayload } from '../journal/offer-payload.js';
import type { ProofPayload } from '../journal/proof-payload.js';
import type { StampEndPayload } from '../journal/stamp-end-payload.js';
import type { StampPayload } from '../journal/stamp-payload.js';

export type IndexDatabase = Database<Buffer, Buffer>;

/**
 * Opens (creating if needed) the index's sub-database `name`: the only way a view gets one.
 * `dupFixed`: a key holds many values of one size, sorted and packed (LMDB's DUPSORT and DUPFIXED),
 * which getValues can range over.
 */
export type OpenDatabase = (name: string, options?: { dupFixed?: boolean }) => IndexDatabase;

/** A journal record as the views read it: decoded once, and a proof's tree built once (or taken as offered). */
export type IndexedRecord =
  | { kind: 'commitment'; record: StoredRecord; commitment: Uint8Array }
  | { kind: 'proof'; record: StoredRecord; proof: ProofPayload; tree: MerkleLevels }
  | { kind: 'stamp'; record: StoredRecord; stamp: StampPayload }
  | { kind: 'stamp-end'; record: StoredRecord; end: StampEndPayload }
  | { kind: 'delegation'; record: StoredRecord; delegation: DelegationPayload }
  | { kind: 'offer'; record: StoredRecord; offer: OfferPayload }
  | { kind: 'donation'; record: StoredRecord; donation: DonationPayload }
  | { kind: 'other'; record: StoredRecord };

export interface IndexView {
  /** Applies one record; called in journal order, inside the index's write transaction. */
  apply(entry: IndexedRecord): void;
  /** Writes what the view kept in memory while applying, at the end of the transaction. */
  finish?(): void;
}
