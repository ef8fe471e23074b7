/**
 * A master calendar's proof of a delegated tip, checked against this calendar's own node before
 * anything of it is written. The proof served is built here, not taken: from the tip along the
 * master's answer to its commitment (what the delegation record holds), then along the master's proof
 * to one Bitcoin attestation, and nothing else of either tree (no pending attestation, no other
 * branch). The attestation chosen is the lowest block that passes every check:
 *
 * - at most MAX_DELEGATED_PROOF_OPS ops from the tip, and at most MAX_TIP_TIMESTAMP_BYTES serialized,
 *   so that with this calendar's own tree and round it stays within a client's read and depth limits;
 * - its message the merkle root of the block at that height in the node's best chain;
 * - its block `minConfirmations` deep in this calendar's chain (one that passes every check but this
 *   one shows the master's transaction mined: MasterProofError.minedAt).
 *
 * The master's word counts for nothing that the node can check.
 * @module
 */
import {
  type Attestation,
  BitcoinBlockHeaderAttestation,
  BlockHeader,
  equalBytes,
  fromHex,
  type Op,
  PendingAttestation,
  Timestamp,
  toHex,
} from '../ots/index.js';
import { MAX_TIP_TIMESTAMP_BYTES } from '../remote/calendar-client.js';
import type { AnchorNode } from './anchor-node.js';

/**
 * Most ops from a delegated tip to its Bitcoin attestation. A client's path crosses this calendar's
 * round and tree too; python-opentimestamps stops at 256 levels, and a master that delegated in turn
 * would double a master's usual 60 or so.
 */
export const MAX_DELEGATED_PROOF_OPS = 120;

/** A master's proof that does not check out (yet): the reason says which check, for the log and status. */
export class MasterProofError extends Error {
  override name = 'MasterProofError';
  /**
   * The lowest block whose merkle root the proof reaches in this calendar's best chain, when that
   * attestation was refused only for being too shallow yet: the master's transaction is mined.
   */
  readonly minedAt: number | undefined;
  constructor(message: string, minedAt?: number) {
    super(message);
    this.minedAt = minedAt;
  }
}

/** This calendar's view of the chain, what the proof is checked against. */
export interface OwnChain {
  /** The last block this calendar has read. */
  height: number;
  minConfirmations: number;
  node: Pick<AnchorNode, 'blockHeaderHex'>;
}

interface AttestationPath {
  ops: Op[];
  msg: Uint8Array;
  attestation: Attestation;
}

function* attestationPaths(node: Timestamp, ops: Op[] = []): Generator<AttestationPath> {
  for (const attestation of node.attestations) yield { ops, msg: node.msg, attestation };
  for (const [op, child] of node.ops) yield* attestationPaths(child, [...ops, op]);
}

/**
 * The timestamp of the delegated tip (`delegation.msg`) through the master's proof of its commitment,
 * to one checked Bitcoin attestation. `delegation` is the master's answer to the tip (ending in its
 * PendingAttestation); `proof` its later answer for the commitment that attestation names. Throws
 * MasterProofError saying why no attestation passes.
 */
export async function checkMasterProof(
  delegation: Timestamp,
  proof: Timestamp,
  chain: OwnChain,
): Promise<Timestamp> {
  const toMaster = delegation.shortestPathTo((a) => a instanceof PendingAttestation);
  if (!toMaster || !equalBytes(toMaster.msg, proof.msg)) {
    throw new MasterProofError(`the proof is for ${toHex(proof.msg)}, not the commitment the master gave`);
  }
  const candidates = [...attestationPaths(proof)]
    .filter((p) => p.attestation instanceof BitcoinBlockHeaderAttestation)
    .sort(
      (a, b) =>
        (a.attestation as BitcoinBlockHeaderAttestation).height -
          (b.attestation as BitcoinBlockHeaderAttestation).height || a.ops.length - b.ops.length,
    );
  if (candidates.length === 0) throw new MasterProofError('the proof reaches no Bitcoin attestation');
  const refusals: string[] = [];
  let minedAt: number | undefined;
  for (const candidate of candidates) {
    const height = (candidate.attestation as BitcoinBlockHeaderAttestation).height;
    const refusal = await refusalOf(delegation.msg, toMaster.ops, candidate, height, chain);
    if (refusal instanceof Timestamp) return refusal;
    if (refusal.shallow) minedAt ??= height;
    refusals.push(refusal.reason);
  }
  throw new MasterProofError(refusals.join('; '), minedAt);
}

/**
 * Why `candidate` does not pass; `shallow` when only its depth fails (its block is in this calendar's
 * best chain, with that merkle root).
 */
interface Refusal {
  reason: string;
  shallow: boolean;
}

const refused = (reason: string): Refusal => ({ reason, shallow: false });

/** The timestamp of `tip` through `candidate` when it passes every check, else why not. */
async function refusalOf(
  tip: Uint8Array,
  toMaster: Op[],
  candidate: AttestationPath,
  height: number,
  chain: OwnChain,
): Promise<Timestamp | Refusal> {
  const ops = [...toMaster, ...candidate.ops];
  if (ops.length > MAX_DELEGATED_PROOF_OPS)
    return refused(`the path to block ${height} is ${ops.length} ops long, over ${MAX_DELEGATED_PROOF_OPS}`);
  const timestamp = new Timestamp(tip);
  let node = timestamp;
  for (const op of ops) node = node.ops.add(op);
  node.attestations.add(candidate.attestation);
  const size = timestamp.toBytes().byteLength;
  if (size > MAX_TIP_TIMESTAMP_BYTES)
    return refused(`the proof through block ${height} is ${size} bytes, over ${MAX_TIP_TIMESTAMP_BYTES}`);
  const confirmations = chain.height - height + 1;
  const shallow = `block ${height} has ${Math.max(0, confirmations)} confirmations in this calendar's chain, fewer than ${chain.minConfirmations}`;
  if (confirmations < 1) return refused(shallow);
  const header = new BlockHeader(fromHex(await chain.node.blockHeaderHex(height)));
  if (!equalBytes(header.merkleRoot, node.msg))
    return refused(
      `the attestation of block ${height} is not the merkle root of that block in this calendar's chain`,
    );
  if (confirmations < chain.minConfirmations) return { reason: shallow, shallow: true };
  return timestamp;
}
