/**
 * The checks a record from the upstream must pass before a mirror appends it: its size, and by kind,
 * a commitment's length; a proof's ranges (only earlier commitments, checked before they are
 * expanded), its merkle tree and every attestation in its tip's tree; a stamp's ranges and
 * transaction. Attestations the mirror cannot check are kept only where the upstream is their origin:
 * a PendingAttestation must name the mirror's calendar URI; any other kind is refused.
 * @module
 */
import { decodeProofPayload } from '../journal/proof-payload.js';
import { type JournalRecord, maxPayloadBytes, RecordKind } from '../journal/record.js';
import { decodeStampPayload } from '../journal/stamp-payload.js';
import {
  BitcoinBlockHeaderAttestation,
  equalBytes,
  MerkleTree,
  PendingAttestation,
  parseTransaction,
  sha256,
} from '../ots/index.js';
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
    if (record.kind === RecordKind.Commitment) {
      if (size === 0) fail('commitment of invalid length');
    } else if (record.kind === RecordKind.Proof) {
      const proof = decodeProofPayload(record.payload, bounds);
      const leaves = proof.commitments.map((n) => {
        const commitment = context.commitmentAt(n);
        if (!commitment) fail(`proof covers record ${n}, which is not an earlier commitment`);
        return sha256(commitment as Uint8Array);
      });
      if (!equalBytes(new MerkleTree(leaves).root, proof.tip.msg))
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
