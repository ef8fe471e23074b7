/**
 * Offline check of a whole journal (`otsd verify-journal`): every segment header, the numbering across
 * segments, every record's chain hash, the structure and references of every proof, delegation,
 * offer, donation and stamp-end record, and, given a check of them, every proof record's attestations.
 * @module
 */
import { join } from 'node:path';
import { DeserializationError, equalBytes, toHex } from '../ots/index.js';
import { decodeDelegationPayload } from './delegation-payload.js';
import { decodeDonationPayload } from './donation-payload.js';
import { type JournalFiles, nodeFiles, readFileRange } from './files.js';
import { decodeOfferPayload } from './offer-payload.js';
import { decodeProofRanges } from './proof-payload.js';
import { rangeNumbers } from './ranges.js';
import { GENESIS_CHAIN_HASH, type JournalRecord, RecordKind } from './record.js';
import { scanRecords } from './scan.js';
import { decodeSegmentHeader, parseSegmentFileName, SEGMENT_HEADER_BYTES } from './segment.js';
import { listSegments } from './segment-files.js';
import { decodeStampEndPayload } from './stamp-end-payload.js';

export interface JournalVerification {
  ok: boolean;
  records: number;
  chainHash: Uint8Array;
  segments: number;
  /** Problems that stop the journal from opening; empty when ok. */
  errors: string[];
  /** A torn last record, which opening the journal truncates. */
  tornTail?: string;
}

export interface VerifyOptions {
  onProgress?: (records: number) => void;
  files?: JournalFiles;
  /**
   * Checks a well-formed proof record further (its attestations): resolves with why it does not check
   * out, or undefined. Every proof is checked; the problems are listed in `errors`.
   */
  checkProof?: (record: JournalRecord) => Promise<string | undefined>;
}

export async function verifyJournal(
  dir: string,
  { onProgress, files = nodeFiles, checkProof }: VerifyOptions = {},
): Promise<JournalVerification> {
  const names = await listSegments(files, dir);
  const result: JournalVerification = {
    ok: true,
    records: 0,
    chainHash: GENESIS_CHAIN_HASH,
    segments: names.length,
    errors: [],
  };
  const fail = (message: string): JournalVerification => ({
    ...result,
    ok: false,
    errors: [...result.errors, message],
  });
  if (names.length === 0) return fail(`no journal segments in ${dir}`);
  // one byte per record: its kind, so proof records can be checked to cover commitments only
  let kinds = new Uint8Array(1024);
  for (const [i, name] of names.entries()) {
    const path = join(dir, name);
    const bytes = await readFileRange(files, path);
    const header = decodeSegmentHeader(bytes);
    if (typeof header === 'string') return fail(`${path}: ${header}`);
    if (header.first !== parseSegmentFileName(name))
      return fail(`${path}: header says the first record is ${header.first}`);
    if (header.first !== result.records) {
      return fail(`${path}: starts at record ${header.first}, but ${result.records} records come before it`);
    }
    if (!equalBytes(header.previousChainHash, result.chainHash)) {
      return fail(`${path}: does not chain to record ${result.records - 1}`);
    }
    const scan = scanRecords(bytes, {
      offset: SEGMENT_HEADER_BYTES,
      number: header.first,
      previousChainHash: header.previousChainHash,
    });
    for (;;) {
      const step = scan.next();
      if (step.done) {
        const end = step.value;
        if (end.kind === 'end') break;
        const isLast =
          i === names.length - 1 && (end.kind === 'incomplete' || end.offset + end.size === bytes.byteLength);
        const where = `${path}: record ${end.number} at offset ${end.offset}: ${end.reason}`;
        if (!isLast) return fail(where);
        result.tornTail = where;
        break;
      }
      const record = step.value;
      if (record.number >= kinds.length) {
        const grown = new Uint8Array(kinds.length * 2);
        grown.set(kinds);
        kinds = grown;
      }
      kinds[record.number] = record.kind;
      try {
        const problem = referenceProblem(record, kinds);
        if (problem) return fail(`${path}: record ${record.number}: ${problem}`);
      } catch (e) {
        if (e instanceof DeserializationError) return fail(`${path}: record ${record.number}: ${e.message}`);
        throw e;
      }
      if (record.kind === RecordKind.Proof) {
        const problem = await checkProof?.(record);
        if (problem !== undefined) {
          result.ok = false;
          result.errors.push(`record ${record.number}: ${problem}`);
        }
      }
      result.records = record.number + 1;
      result.chainHash = record.chainHash;
      if (onProgress && result.records % 100_000 === 0) onProgress(result.records);
    }
  }
  return result;
}

/**
 * What is wrong with the records a record names, or undefined: a proof, a delegation, an offer or a
 * donation covers earlier commitment records only, and a stamp end names an earlier stamp record. `kinds` holds the kind of
 * every record before it.
 */
function referenceProblem(record: { number: number; kind: number; payload: Uint8Array }, kinds: Uint8Array) {
  const coversCommitments = (what: string, commitments: Iterable<number>) => {
    for (const n of commitments) {
      if (n >= record.number || kinds[n] !== RecordKind.Commitment)
        return `${what} covers record ${n}, which is not an earlier commitment`;
    }
    return undefined;
  };
  switch (record.kind) {
    case RecordKind.Proof:
      return coversCommitments('proof', rangeNumbers(decodeProofRanges(record.payload).commitments));
    case RecordKind.Delegation:
      return coversCommitments('delegation', decodeDelegationPayload(record.payload).commitments);
    case RecordKind.Offer:
      return coversCommitments('offer', decodeOfferPayload(record.payload).commitments);
    case RecordKind.Donation:
      return coversCommitments('donation', decodeDonationPayload(record.payload).commitments);
    case RecordKind.StampEnd: {
      const { stamp } = decodeStampEndPayload(record.payload, record.number);
      return kinds[stamp] === RecordKind.Stamp ? undefined : `stamp end names record ${stamp}, not a stamp`;
    }
    default:
      return undefined;
  }
}

export const formatHead = (v: { records: number; chainHash: Uint8Array }): string =>
  `records ${v.records}, chain hash ${toHex(v.chainHash)}`;
