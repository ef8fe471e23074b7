/**
 * The checks a record from the upstream must pass before a mirror appends it: its size, and by kind,
 * a commitment's length; a proof's ranges (only earlier commitments, at most MAX_COVERED_RECORDS,
 * checked before they are expanded), its merkle tree (built whole up to MAX_SHARED_TREE_LEAVES
 * commitments, for the index to take; leaf by leaf, never all in memory, past that) and every
 * attestation in its tip's tree; a stamp's ranges and transaction; a delegation's ranges, merkle
 * tree, master URL and the shape of the master's answer; a stamp end's outcome and that it names an
 * earlier stamp record (as `otsd verify-journal` checks); an offer's ranges and merkle tree; a donation's
 * ranges, and that its transaction has the one shape donations may have (src/bitcoin/donation-rules.ts)
 * and commits to their merkle tip. Attestations the mirror cannot check are kept in a proof only where the upstream is
 * their origin: a PendingAttestation must name the mirror's calendar URI; any other kind is refused.
 * A delegation's PendingAttestation is data (where the calendar sent its tip), not a claim that
 * anything is proven: it may name any calendar, and it is never served.
 * @module
 */
import { checkDonation, MAX_DONATION_BYTES_LIMIT } from '../bitcoin/donation-rules.js';
import { PREFIX_BYTES } from '../index/prefix-entry.js';
import { decodeDelegationPayload } from '../journal/delegation-payload.js';
import { decodeDonationPayload } from '../journal/donation-payload.js';
import { MerkleLevels } from '../journal/merkle-levels.js';
import { merkleRoot } from '../journal/merkle-root.js';
import { decodeOfferPayload } from '../journal/offer-payload.js';
import { decodeProofRanges } from '../journal/proof-payload.js';
import { rangeNumbers } from '../journal/ranges.js';
import { type JournalRecord, maxPayloadBytes, RecordKind } from '../journal/record.js';
import { decodeStampEndPayload } from '../journal/stamp-end-payload.js';
import { decodeStampRanges } from '../journal/stamp-payload.js';
import {
  BitcoinBlockHeaderAttestation,
  equalBytes,
  PendingAttestation,
  parseTransaction,
  sha256,
  type Timestamp,
  toHex,
} from '../ots/index.js';
import { isCalendarUrl, pendingCommitment } from '../remote/calendar-client.js';
import { type HeaderCheck, NotYetConfirmedError } from './header-check.js';
import { MirrorIntegrityError } from './integrity-error.js';

/** What a proof's attestations are checked against. */
export interface AttestationContext {
  /** The calendar the mirror copies: the one PendingAttestation URI a proof may carry. */
  calendarUri: string;
  checkHeader: HeaderCheck;
}

/** What a record's own contents are checked against: the records before it. */
export interface BodyContext {
  /** The commitment at record `n`, if it is one (appended or verified earlier in the batch). */
  commitmentAt(n: number): Uint8Array | undefined;
  /** How many commitments exist before the record. */
  commitments: number;
}

/** What a record is checked against among what the mirror holds (see checkRecordAgainstHeld). */
export interface HeldContext {
  /** Whether record `n` is a stamp record (appended or verified earlier in the batch). */
  isStampAt(n: number): boolean;
  /**
   * How many commitments held (appended or verified earlier in the batch) share the first
   * PREFIX_BYTES of `commitment`, counted up to `atMost`.
   */
  sharingPrefix(commitment: Uint8Array, atMost: number): number;
}

/** What a record is checked against. */
export interface RecordContext extends AttestationContext, BodyContext, HeldContext {}

/**
 * Most commitments that may share their first 6 bytes (the index keeps that much of each, and confirms
 * a match by reading the journal: commitments sharing it make each lookup and insert read them all).
 * A calendar's commitments are its round tips, merkle roots of nonced hashes: nine sharing 48 bits is
 * beyond chance at any size, while an upstream that wrote thousands could make its mirrors' index
 * quadratic.
 */
export const MAX_SHARED_PREFIX = 8;

/**
 * Most commitments of a proof whose merkle tree is built whole (at most 4 MiB), for the mirror's
 * index to take rather than hash every node again: a larger proof is checked leaf by leaf.
 */
export const MAX_SHARED_TREE_LEAVES = 2 ** 16;

/** A proof record whose body passed checkRecordBody: its tip, and its tree when it was built whole. */
export interface CheckedProof {
  tip: Timestamp;
  tree: MerkleLevels | undefined;
}

/**
 * Throws MirrorIntegrityError naming the record and what is wrong with it: its body, then against what
 * the mirror holds, then a proof's attestations. A mirror runs the first two on a whole chunk before
 * it waits on any attestation (checkRecordBody, checkRecordAgainstHeld, verifyAttestations).
 */
export async function verifyRecord(record: JournalRecord, context: RecordContext): Promise<void> {
  const proof = checkRecordBody(record, context);
  checkRecordAgainstHeld(record, context);
  if (proof) await verifyAttestations(record, proof.tip, context);
}

/** A MirrorIntegrityError naming the record. */
function refusal(record: JournalRecord, why: string): MirrorIntegrityError {
  return new MirrorIntegrityError(`upstream record ${record.number}: ${why}`);
}

/**
 * The checks of verifyRecord that need no more than the records before it: its size, and by kind its
 * payload, ranges and merkle tree (another thread can run them, with the commitments it read).
 */
export function checkRecordBody(record: JournalRecord, context: BodyContext): CheckedProof | undefined {
  const fail = (why: string): never => {
    throw refusal(record, why);
  };
  const size = record.payload.byteLength;
  if (size > maxPayloadBytes(record.kind)) {
    fail(`a payload of ${size} bytes is over the ${maxPayloadBytes(record.kind)}-byte limit of its kind`);
  }
  const bounds = { below: record.number, most: context.commitments };
  let checked: CheckedProof | undefined;
  /** The commitment at record `n`, which must be an earlier one. */
  const commitmentOf = (what: string, n: number): Uint8Array =>
    context.commitmentAt(n) ?? fail(`${what} covers record ${n}, which is not an earlier commitment`);
  /** The commitments at `numbers`, one at a time. */
  const commitmentsAt = function* (what: string, numbers: Iterable<number>) {
    for (const n of numbers) yield commitmentOf(what, n);
  };
  /** The merkle root over the commitments at `numbers`, leaf by leaf: never all in memory. */
  const rootOf = (what: string, numbers: Iterable<number>) => {
    const leaves = function* () {
      for (const commitment of commitmentsAt(what, numbers)) yield sha256(commitment);
    };
    return merkleRoot(leaves());
  };
  try {
    if (record.kind === RecordKind.Commitment) {
      if (size === 0) fail('commitment of invalid length');
    } else if (record.kind === RecordKind.Proof) {
      const proof = decodeProofRanges(record.payload, bounds);
      const count = proof.commitments.reduce((sum, range) => sum + range.count, 0);
      let tree: MerkleLevels | undefined;
      if (count <= MAX_SHARED_TREE_LEAVES) {
        // an array, not generators: a mirror checks a million leaves a million records
        const commitments: Uint8Array[] = [];
        for (const { first, count } of proof.commitments)
          for (let n = first; n < first + count; n++) commitments.push(commitmentOf('proof', n));
        tree = MerkleLevels.of(commitments, count);
      }
      if (!equalBytes(tree?.root ?? rootOf('proof', rangeNumbers(proof.commitments)), proof.tip.msg))
        fail('proof tip is not the merkle root of its commitments');
      checked = { tip: proof.tip, tree };
    } else if (record.kind === RecordKind.Stamp) {
      parseTransaction(decodeStampRanges(record.payload, bounds).rawTx);
    } else if (record.kind === RecordKind.Delegation) {
      const delegation = decodeDelegationPayload(record.payload, bounds);
      if (!equalBytes(rootOf('delegation', delegation.commitments), delegation.answer.msg))
        fail('delegation tip is not the merkle root of its commitments');
      if (!isCalendarUrl(delegation.master))
        fail(`delegation names a master that is not an http(s) URL: ${JSON.stringify(delegation.master)}`);
      pendingCommitment(delegation.answer);
    } else if (record.kind === RecordKind.StampEnd) {
      decodeStampEndPayload(record.payload, record.number);
    } else if (record.kind === RecordKind.Offer) {
      const offer = decodeOfferPayload(record.payload, bounds);
      if (!equalBytes(rootOf('offer', offer.commitments), offer.tip))
        fail('offer tip is not the merkle root of its commitments');
    } else if (record.kind === RecordKind.Donation) {
      const donation = decodeDonationPayload(record.payload, bounds);
      // the rules on its bytes, but for the height it had to be final at, which the mirror cannot know
      const { tip } = checkDonation(parseTransaction(donation.rawTx), {
        maxTxBytes: MAX_DONATION_BYTES_LIMIT,
        finalAt: Number.POSITIVE_INFINITY,
      });
      if (!equalBytes(rootOf('donation', donation.commitments), tip))
        fail('donation does not commit to the merkle root of its commitments');
    }
  } catch (e) {
    if (e instanceof MirrorIntegrityError) throw e;
    fail((e as Error).message);
  }
  return checked;
}

/**
 * The checks of verifyRecord against what the mirror holds, for a record whose body checked out: that
 * a commitment shares its prefix with fewer than MAX_SHARED_PREFIX others, that a stamp end names a
 * stamp record.
 */
export function checkRecordAgainstHeld(record: JournalRecord, context: HeldContext): void {
  if (record.kind === RecordKind.Commitment) {
    if (context.sharingPrefix(record.payload, MAX_SHARED_PREFIX) >= MAX_SHARED_PREFIX)
      throw refusal(
        record,
        `commitment ${toHex(record.payload)} shares its first ${PREFIX_BYTES} bytes with ${MAX_SHARED_PREFIX} others: not a calendar's round tip`,
      );
  } else if (record.kind === RecordKind.StampEnd) {
    const { stamp } = decodeStampEndPayload(record.payload, record.number);
    if (!context.isStampAt(stamp)) throw refusal(record, `stamp end names record ${stamp}, not a stamp`);
  }
}

/** Checks the attestations of proof record `record`'s tip (see checkProofAttestations), naming the record. */
export async function verifyAttestations(
  record: JournalRecord,
  tip: Timestamp,
  context: AttestationContext,
): Promise<void> {
  await checkProofAttestations(tip, context).catch((e: unknown) => {
    throw e instanceof MirrorIntegrityError
      ? new MirrorIntegrityError(`upstream record ${record.number}: ${e.message}`)
      : e;
  });
}

/**
 * Checks every attestation in the tree of a proof's tip: each Bitcoin one with `checkHeader`, a
 * pending one only to the calendar's URI, no other kind, and at least one Bitcoin attestation.
 * Throws MirrorIntegrityError for a refusal; a check that cannot run yet (headers unreachable, too
 * little work on the attested block) throws a plain Error, for the caller to retry.
 */
export async function checkProofAttestations(tip: Timestamp, context: AttestationContext): Promise<void> {
  const attested: [number, Uint8Array][] = [];
  for (const [msg, attestation] of tip.allAttestations()) {
    if (attestation instanceof BitcoinBlockHeaderAttestation) {
      attested.push([attestation.height, msg]);
    } else if (attestation instanceof PendingAttestation) {
      if (attestation.uri !== context.calendarUri) {
        throw new MirrorIntegrityError(
          `proof carries a pending attestation to ${attestation.uri}, not to ${context.calendarUri}`,
        );
      }
    } else {
      throw new MirrorIntegrityError(
        `proof carries an attestation the mirror cannot check: ${String(attestation)}`,
      );
    }
  }
  if (attested.length === 0) throw new MirrorIntegrityError('proof reaches no Bitcoin attestation');
  for (const [height, msg] of attested) await context.checkHeader(height, msg);
}

/**
 * Checks again the attestations of a proof record a mirror holds, as it checks those it copies: for
 * mirrors that ran an otsd whose check was weaker (`otsd verify-journal --upstream`). Resolves with
 * why the proof does not check out, or undefined; throws when the headers cannot be read.
 */
export async function recheckProofAttestations(
  record: JournalRecord,
  context: AttestationContext,
): Promise<string | undefined> {
  try {
    await checkProofAttestations(decodeProofRanges(record.payload).tip, context);
    return undefined;
  } catch (e) {
    if (e instanceof MirrorIntegrityError) return e.message;
    if (e instanceof NotYetConfirmedError) return `not confirmed yet (check again later): ${e.message}`;
    throw e;
  }
}
