/**
 * The thread reading ahead of an index catching up (see read-ahead.ts): it reads the journal's
 * segments, checks every chain hash, and builds the merkle tree of each proof over commitments it
 * read shortly before, so that the thread writing the index does neither. It keeps at most `ahead` batches
 * sent and not yet taken.
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import { nodeFiles } from '../journal/files.js';
import { MerkleLevels, NODE_BYTES } from '../journal/merkle-levels.js';
import { decodeProofPayload } from '../journal/proof-payload.js';
import { type RecordSpan, readSpans } from '../journal/read-spans.js';
import { RecordKind } from '../journal/record.js';
import type { ReadAheadMessage, ReadAheadStart } from './read-ahead.js';

const port = parentPort as NonNullable<typeof parentPort>;
const { plan, most, ahead, keptRecords } = workerData as ReadAheadStart;

/** Batches the reader may send before one is taken; each taken one gives one more. */
let credit = ahead;
let creditGiven: (() => void) | undefined;
port.on('message', () => {
  credit++;
  creditGiven?.();
});

/**
 * The commitments among the last `keptRecords` records read, in a ring by record number: a slot holds
 * the commitment of the record whose number it also holds (no map to hash into).
 */
const keptNumbers = new Float64Array(keptRecords).fill(-1);
const keptCommitments: (Uint8Array | undefined)[] = new Array(keptRecords);

function keep(number: number, commitment: Uint8Array): void {
  keptNumbers[number % keptRecords] = number;
  keptCommitments[number % keptRecords] = commitment;
}

function kept(number: number): Uint8Array | undefined {
  return keptNumbers[number % keptRecords] === number ? keptCommitments[number % keptRecords] : undefined;
}

/** The trees of the span's proofs whose commitments are all kept, their nodes in one buffer. */
function proofTrees(span: RecordSpan): { trees: Float64Array; treeBytes: Uint8Array } {
  const built: { record: number; tree: MerkleLevels }[] = [];
  for (const record of span.records) {
    if (record.kind === RecordKind.Commitment) keep(record.number, record.payload);
    if (record.kind !== RecordKind.Proof) continue;
    const covered = proofCommitments(record.payload);
    const commitments = covered?.map(kept);
    // a commitment not at hand, or a payload that does not decode: the index builds this tree itself,
    // or fails on it, as without this thread
    if (!covered || !commitments || commitments.some((c) => c === undefined)) continue;
    built.push({ record: record.number, tree: MerkleLevels.of(commitments as Uint8Array[], covered.length) });
  }
  const trees = new Float64Array(built.length * 3);
  const treeBytes = new Uint8Array(built.reduce((sum, b) => sum + b.tree.byteLength, 0));
  let at = 0;
  built.forEach(({ record, tree }, i) => {
    trees.set([record, tree.leaves, tree.byteLength / NODE_BYTES], i * 3);
    treeBytes.set(tree.nodeBytes, at);
    at += tree.byteLength;
  });
  return { trees, treeBytes };
}

/** The commitment records a proof covers, or undefined for a payload that does not decode. */
function proofCommitments(payload: Uint8Array): readonly number[] | undefined {
  try {
    return decodeProofPayload(payload).commitments;
  } catch {
    return undefined;
  }
}

/** The span as sent: its records' bytes copied out of the segment's (the copy is handed over). */
function batchOf(span: RecordSpan): Extract<ReadAheadMessage, { kind: 'batch' }> {
  const first = span.records[0] as RecordSpan['records'][number];
  const last = span.records.at(-1) as RecordSpan['records'][number];
  const start = first.offset - span.base;
  const offsets = new Float64Array(span.records.length + 1);
  span.records.forEach((r, i) => {
    offsets[i] = r.offset;
  });
  offsets[span.records.length] = last.offset + last.size;
  return {
    kind: 'batch',
    segment: first.segment,
    first: first.number,
    offsets,
    bytes: span.bytes.slice(start, last.offset + last.size - span.base),
    ...proofTrees(span),
  };
}

function send(message: ReadAheadMessage): void {
  const handed = message.kind === 'batch' ? [message.bytes.buffer, message.treeBytes.buffer] : [];
  port.postMessage(message, handed as ArrayBuffer[]);
}

try {
  for await (const span of readSpans(plan, nodeFiles, most)) {
    send(batchOf(span));
    credit--;
    while (credit === 0) await new Promise<void>((resolve) => (creditGiven = resolve));
  }
  send({ kind: 'end' });
} catch (e) {
  send({ kind: 'failed', name: (e as Error).name, message: (e as Error).message });
}
