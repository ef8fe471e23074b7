/**
 * The thread reading ahead of an index catching up (see read-ahead.ts): it reads the journal's
 * segments, checks every chain hash, and builds the merkle tree of each proof over commitments it read
 * shortly before, so that the thread writing the index does neither. It sends at most `ahead` batches
 * not yet taken.
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import { CommitmentRing } from '../journal/commitment-ring.js';
import { nodeFiles } from '../journal/files.js';
import { MerkleLevels } from '../journal/merkle-levels.js';
import { decodeProofPayload } from '../journal/proof-payload.js';
import { type RecordSpan, readSpans } from '../journal/read-spans.js';
import { RecordKind } from '../journal/record.js';
import { SendCredit, workThrough } from '../journal/worker-messages.js';
import {
  batchMessage,
  handedOver,
  type ReadAheadMessage,
  type ReadAheadStart,
} from './read-ahead-message.js';

const port = parentPort as NonNullable<typeof parentPort>;
const { plan, most, ahead, keptRecords } = workerData as ReadAheadStart;

const credit = new SendCredit(port, ahead);

/** The commitments among the last `keptRecords` records read. */
const kept = new CommitmentRing(keptRecords);

/** The commitment records a proof covers, or undefined for a payload that does not decode. */
function proofCommitments(payload: Uint8Array): readonly number[] | undefined {
  try {
    return decodeProofPayload(payload).commitments;
  } catch {
    return undefined;
  }
}

/** The trees of the span's proofs whose commitments are all kept, by proof record. */
function proofTrees(span: RecordSpan): Map<number, MerkleLevels> {
  const trees = new Map<number, MerkleLevels>();
  for (const record of span.records) {
    if (record.kind === RecordKind.Commitment) kept.keep(record.number, record.payload);
    if (record.kind !== RecordKind.Proof) continue;
    const covered = proofCommitments(record.payload);
    const commitments = covered?.map((n) => kept.at(n));
    // a commitment not at hand, or a payload that does not decode: the index builds this tree itself,
    // or fails on it, as without this thread
    if (!covered || !commitments || commitments.some((c) => c === undefined)) continue;
    trees.set(record.number, MerkleLevels.of(commitments as Uint8Array[], covered.length));
  }
  return trees;
}

function send(message: ReadAheadMessage): void {
  port.postMessage(message, message.kind === 'batch' ? handedOver(message) : []);
}

await workThrough(readSpans(plan, nodeFiles, most), {
  each: async (span) => {
    send(batchMessage(span, proofTrees(span)));
    await credit.spend();
  },
  end: () => send({ kind: 'end' }),
  // the journal's failure (damage, storage), as reading it in the index's thread would throw it
  failed: (e) => {
    const { name, message, code } = e as Error & { code?: unknown };
    send({ kind: 'failed', name, message, code: typeof code === 'string' ? code : undefined });
  },
});
