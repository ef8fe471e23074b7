/**
 * The checks a record from the upstream must pass before a mirror appends it: its size, and by kind,
 * a commitment's length; a proof's ranges (only earlier commitments, checked before they are
 * expanded), its merkle tree and every attestation in its tip's tree; a stamp's ranges and
 * transaction; a delegation's ranges, merkle tree, master URL and the shape of the master's answer;
 * a stamp end's outcome and that it names an earlier record. Attestations the mirror cannot check are
 * kept in a proof only where the upstream is their origin: a PendingAttestation must name the
 * mirror's calendar URI; any other kind is refused. A delegation's PendingAttestation is data (where
 * the calendar sent its tip), not a claim that anything is proven: it may name any calendar, and it is
 * never served.
 * @module
 */
import { decodeDelegationPayload } from '../journal/delegation-payload.js';
import { decodeProofPayload } from '../journal/proof-payload.js';
import { type JournalRecord, maxPayloadBytes, RecordKind } from '../journal/record.js';
import { decodeStampEndPayload } from '../journal/stamp-end-payload.js';
import { decodeStampPayload } from '../journal/stamp-payload.js';
import {
  BitcoinBlockHeaderAttestation,
  equalBytes,
  MerkleTree,
  PendingAttestation,
  parseTransaction,
  sha256,
} from '../ots/index.js';
import { isCalendarUrl, pendingCommitment } from '../remote/calendar-client.js';
import type { HeaderCheck } from './header-check.js';
import { MirrorIntegrityError } from './integrity-error.js';

/** What a record is checked against. */
export interface RecordContext {
  /** The commitment at record `n`, if it is one (appended or verified earlier in the batch). */
  commitmentAt(n: number): Uint8Array | undefined;
  /** How many commitments exist before the record. */
  commitments: number;
  /** The calendar the mirror copies: the one PendingAttestation URI a proof may carry. */
  calendarUri: string;
  checkHeader: HeaderCheck;
}

/** Throws MirrorIntegrityError naming the record and what is wrong with it. */
export async function verifyRecord(record: JournalRecord, context: RecordContext): Promise<void> {
  const fail = (why: string): never => {
    throw new MirrorIntegrityError(`upstream record ${record.number}: ${why}`);
  };
  const size = record.payload.byteLength;
  if (size > maxPayloadBytes(record.kind)) {
    fail(`a payload of ${size} bytes is over the ${maxPayloadBytes(record.kind)}-byte limit of its kind`);
  }
  const bounds = { below: record.number, most: context.commitments };
  const attested: [number, Uint8Array][] = [];
  try {
    const merkleRoot = (what: string, commitments: number[]) =>
      new MerkleTree(
        commitments.map((n) => {
          const commitment = context.commitmentAt(n);
          if (!commitment) fail(`${what} covers record ${n}, which is not an earlier commitment`);
          return sha256(commitment as Uint8Array);
        }),
      ).root;
    if (record.kind === RecordKind.Commitment) {
      if (size === 0) fail('commitment of invalid length');
    } else if (record.kind === RecordKind.Proof) {
      const proof = decodeProofPayload(record.payload, bounds);
      if (!equalBytes(merkleRoot('proof', proof.commitments), proof.tip.msg))
        fail('proof tip is not the merkle root of its commitments');
      for (const [msg, attestation] of proof.tip.allAttestations()) {
        if (attestation instanceof BitcoinBlockHeaderAttestation) {
          attested.push([attestation.height, msg]);
        } else if (attestation instanceof PendingAttestation) {
          if (attestation.uri !== context.calendarUri)
            fail(`proof carries a pending attestation to ${attestation.uri}, not to ${context.calendarUri}`);
        } else {
          fail(`proof carries an attestation the mirror cannot check: ${String(attestation)}`);
        }
      }
      if (attested.length === 0) fail('proof reaches no Bitcoin attestation');
    } else if (record.kind === RecordKind.Stamp) {
      parseTransaction(decodeStampPayload(record.payload, bounds).rawTx);
    } else if (record.kind === RecordKind.Delegation) {
      const delegation = decodeDelegationPayload(record.payload, bounds);
      if (!equalBytes(merkleRoot('delegation', delegation.commitments), delegation.answer.msg))
        fail('delegation tip is not the merkle root of its commitments');
      if (!isCalendarUrl(delegation.master))
        fail(`delegation names a master that is not an http(s) URL: ${JSON.stringify(delegation.master)}`);
      pendingCommitment(delegation.answer);
    } else if (record.kind === RecordKind.StampEnd) {
      decodeStampEndPayload(record.payload, record.number);
    }
  } catch (e) {
    if (e instanceof MirrorIntegrityError) throw e;
    fail((e as Error).message);
  }
  // a check that cannot run yet (headers unreachable, too few confirmations) throws a plain Error:
  // the follower retries it
  for (const [height, msg] of attested) {
    await context.checkHeader(height, msg).catch((e: unknown) => {
      throw e instanceof MirrorIntegrityError
        ? new MirrorIntegrityError(`upstream record ${record.number}: ${e.message}`)
        : e;
    });
  }
}
