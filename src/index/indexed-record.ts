/** Decoding a journal record once for every view of the index. */

import { decodeDelegationPayload } from '../journal/delegation-payload.js';
import { decodeDonationPayload } from '../journal/donation-payload.js';
import type { StoredRecord } from '../journal/journal.js';
import { MerkleLevels } from '../journal/merkle-levels.js';
import { decodeOfferPayload } from '../journal/offer-payload.js';
import { decodeProofPayload } from '../journal/proof-payload.js';
import { RecordKind } from '../journal/record.js';
import { decodeStampEndPayload } from '../journal/stamp-end-payload.js';
import { decodeStampPayload } from '../journal/stamp-payload.js';
import { IndexConsistencyError } from './errors.js';
import type { IndexedRecord } from './index-view.js';

/**
 * The record decoded by its kind; a proof's tree is `treeOf(number)` if one was offered for it (built
 * from the same records: see CalendarIndex.offerProofTrees), else built over its commitments, read with
 * `commitmentsAt` (records applied before it, this transaction's included; undefined for one that is
 * not a commitment). A kind this version does not know is 'other'.
 */
export function indexedRecord(
  record: StoredRecord,
  commitmentsAt: (records: readonly number[]) => (Uint8Array | undefined)[],
  treeOf: (record: number) => MerkleLevels | undefined = () => undefined,
): IndexedRecord {
  switch (record.kind) {
    case RecordKind.Commitment:
      // the record's own bytes, not a copy: the views use them while the record is applied
      return { kind: 'commitment', record, commitment: record.payload };
    case RecordKind.Proof: {
      const proof = decodeProofPayload(record.payload);
      const offered = treeOf(record.number);
      if (offered && offered.leaves === proof.commitments.length)
        return { kind: 'proof', record, proof, tree: offered };
      const read = commitmentsAt(proof.commitments);
      const commitments = proof.commitments.map((n, i) => {
        const commitment = read[i];
        if (!commitment) {
          throw new IndexConsistencyError(
            `journal record ${record.number}: proof covers record ${n}, which is not a commitment`,
          );
        }
        return commitment;
      });
      return { kind: 'proof', record, proof, tree: MerkleLevels.of(commitments, commitments.length) };
    }
    case RecordKind.Stamp:
      return { kind: 'stamp', record, stamp: decodeStampPayload(record.payload) };
    case RecordKind.StampEnd:
      return { kind: 'stamp-end', record, end: decodeStampEndPayload(record.payload) };
    case RecordKind.Delegation:
      return { kind: 'delegation', record, delegation: decodeDelegationPayload(record.payload) };
    case RecordKind.Offer:
      return { kind: 'offer', record, offer: decodeOfferPayload(record.payload) };
    case RecordKind.Donation:
      return { kind: 'donation', record, donation: decodeDonationPayload(record.payload) };
    default:
      return { kind: 'other', record };
  }
}
