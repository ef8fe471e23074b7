/**
 * The thread checking a mirror's chunks ahead of the follower (see checked-chunks.ts): it downloads
 * and reads them (readChunks: every chain hash), checks the body of each fresh record
 * (checkRecordBody) with the commitments it read shortly before, and builds the trees of their
 * proofs. It refuses nothing itself: a record it could not check (one that covers a commitment it did
 * not keep, or one that is wrong) is left to the follower, which checks it as without this thread.
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import { CommitmentRing } from '../journal/commitment-ring.js';
import type { MerkleLevels } from '../journal/merkle-levels.js';
import { RecordKind } from '../journal/record.js';
import { SendCredit, workThrough } from '../journal/worker-messages.js';
import {
  type ChunkCheckMessage,
  type ChunkCheckStart,
  chunkMessage,
  failureMessage,
  handedOver,
  sentBytes,
} from './chunk-check-message.js';
import { type ChunkRead, readChunks } from './chunk-reads.js';
import { ChunkSource } from './chunk-source.js';
import { type BodyContext, checkRecordBody } from './verify-record.js';

/** Most bytes of trees sent with one chunk: the follower builds any other again. */
const CHUNK_TREE_BYTES = 16 * 1024 * 1024;

const port = parentPort as NonNullable<typeof parentPort>;
const start = workerData as ChunkCheckStart;
const credit = new SendCredit(port, start.aheadBytes);
const kept = new CommitmentRing(start.keptRecords);
const context: BodyContext = { commitmentAt: (n) => kept.at(n), commitments: start.commitments };

/** Checks the body of each fresh record of `read`; returns which checked out, and their proofs' trees. */
function check(read: ChunkRead): { bodyChecked: Uint8Array; trees: Map<number, MerkleLevels> } {
  const fresh = read.fresh ?? [];
  const bodyChecked = new Uint8Array(fresh.length);
  const trees = new Map<number, MerkleLevels>();
  let treeBytes = 0;
  fresh.forEach((record, i) => {
    try {
      const tree = checkRecordBody(record, context)?.tree;
      bodyChecked[i] = 1;
      if (tree && treeBytes + tree.byteLength <= CHUNK_TREE_BYTES) {
        trees.set(record.number, tree);
        treeBytes += tree.byteLength;
      }
    } catch {
      // the follower checks it again, and refuses it if it is wrong
    }
    if (record.kind === RecordKind.Commitment) {
      kept.keep(record.number, record.payload);
      context.commitments++;
    }
  });
  return { bodyChecked, trees };
}

function send(message: ChunkCheckMessage): void {
  port.postMessage(message, message.kind === 'chunk' ? handedOver(message) : []);
}

const source = new ChunkSource(start.upstream, start.timeoutMs);
await workThrough(readChunks(source, start.first, start.end, start.held), {
  each: async (read) => {
    const { bodyChecked, trees } = check(read);
    const message = chunkMessage(read, bodyChecked, trees);
    // counted before its buffers are handed over (and read as empty here)
    const bytes = sentBytes(message);
    send(message);
    await credit.spend(bytes);
  },
  end: () => send({ kind: 'end' }),
  // the downloads' failure, which the follower's retries are for
  failed: (e) => send({ kind: 'failed', message: failureMessage(e) }),
});
source.close();
