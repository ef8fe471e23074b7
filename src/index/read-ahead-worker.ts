/**
 * The thread reading ahead of an index catching up (see read-ahead.ts): it reads the journal's
 * segments, checks every chain hash, and builds the merkle tree of each proof over commitments it read
 * shortly before, so that the thread writing the index does neither. It sends at most `ahead` batches
 * not yet taken.
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import { nodeFiles } from '../journal/files.js';
import { MerkleLevels } from '../journal/merkle-levels.js';
import { decodeProofPayload } from '../journal/proof-payload.js';
import { type RecordSpan, readSpans } from '../journal/read-spans.js';
import { MAX_PAYLOAD_BYTES, RecordKind } from '../journal/record.js';
import {
  batchMessage,
  handedOver,
  type ReadAheadMessage,
  type ReadAheadStart,
} from './read-ahead-message.js';

const port = parentPort as NonNullable<typeof parentPort>;
const { plan, most, ahead, keptRecords } = workerData as ReadAheadStart;

/** Batches it may send before one is taken; each taken one gives one more. */
let credit = ahead;
let creditGiven: (() => void) | undefined;
port.on('message', () => {
  credit++;
  creditGiven?.();
});

const SLOT_BYTES = MAX_PAYLOAD_BYTES[RecordKind.Commitment] as number;
/**
 * The commitments among the last `keptRecords` records read, copied into a ring by record number (a
 * view would keep its whole segment's bytes): a slot holds the commitment of the record whose number
 * it also holds.
 */
const keptNumbers = new Float64Array(keptRecords).fill(-1);
const keptLengths = new Uint8Array(keptRecords);
const keptBytes = new Uint8Array(keptRecords * SLOT_BYTES);

function keep(number: number, commitment: Uint8Array): void {
  // a longer one is no commitment the index takes: never kept, its proofs built (and refused) there
  if (commitment.byteLength > SLOT_BYTES) return;
  const slot = number % keptRecords;
  keptNumbers[slot] = number;
  keptLengths[slot] = commitment.byteLength;
  keptBytes.set(commitment, slot * SLOT_BYTES);
}

function kept(number: number): Uint8Array | undefined {
  const slot = number % keptRecords;
  if (keptNumbers[slot] !== number) return undefined;
  return keptBytes.subarray(slot * SLOT_BYTES, slot * SLOT_BYTES + (keptLengths[slot] as number));
}

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
    if (record.kind === RecordKind.Commitment) keep(record.number, record.payload);
    if (record.kind !== RecordKind.Proof) continue;
    const covered = proofCommitments(record.payload);
    const commitments = covered?.map(kept);
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

try {
  for await (const span of readSpans(plan, nodeFiles, most)) {
    send(batchMessage(span, proofTrees(span)));
    credit--;
    while (credit === 0) await new Promise<void>((resolve) => (creditGiven = resolve));
  }
  send({ kind: 'end' });
} catch (e) {
  const { name, message, code } = e as Error & { code?: unknown };
  send({ kind: 'failed', name, message, code: typeof code === 'string' ? code : undefined });
}
