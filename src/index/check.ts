/**
 * Checking an index against its journal at start (its pages are read through first: read-pages.ts).
 * Its position: the chain hash after the records it
 * applied must be the journal's there. A sample of its entries: every record of a few chunks picked at
 * random (the last one always, and all of them on a calendar of up to SAMPLED_CHUNKS + 1 chunks), each
 * found where the journal has it: a commitment record's commitment is the one the index holds for
 * its number and a lookup finds it at that record or an earlier one (the one its proofs are listed
 * under), and a proof record is where the index locates it and among the proofs of each commitment
 * it covers. Garbage that leaves its pages readable, in entries the sample does not check, goes
 * unnoticed (`otsd reindex` mends it).
 * @module
 */
import { CHUNK_RECORDS, parseChunk } from '../journal/chunk.js';
import { journalDamaged } from '../journal/damaged.js';
import { type Journal, JournalCorruptError, type ReadCursor } from '../journal/journal.js';
import { RecordKind } from '../journal/record.js';
import type { ScannedRecord } from '../journal/scan.js';
import { equalBytes, toHex } from '../ots/index.js';
import type { CalendarIndex } from './calendar-index.js';
import { ProofLeaves } from './proof-coverage.js';
import { coveredProblem } from './proof-references-check.js';

/** Chunks read at random besides the last: 4,352 records at most, a few milliseconds. */
const SAMPLED_CHUNKS = 16;

/** Whether the journal's chain hash after record `position.number - 1` is the one `position` recorded. */
export async function journalHasPosition(journal: Journal, position: ReadCursor): Promise<boolean> {
  if (position.number > journal.head.records) return false;
  try {
    return equalBytes(await journal.chainHashBefore(position), position.previousChainHash);
  } catch {
    // no such segment: another journal
    return false;
  }
}

/**
 * What is wrong with `index` as an index of `journal`, or undefined; an LMDB error reading it counts.
 * Throws JournalCorruptError when the journal itself fails its chain check where the index points.
 */
export async function indexProblem(index: CalendarIndex, journal: Journal): Promise<string | undefined> {
  try {
    const applied = index.applied;
    if (applied.number > 0 && !(await journalHasPosition(journal, applied))) {
      return `its position (record ${applied.number}, segment ${applied.segment} offset ${applied.offset}) is not where the journal has it`;
    }
    for (const chunk of sampledChunks(Math.ceil(applied.number / CHUNK_RECORDS))) {
      const problem = await chunkProblem(index, journal, chunk, applied.number);
      if (problem) return problem;
    }
    return undefined;
  } catch (e) {
    if (e instanceof JournalCorruptError) throw e;
    return `reading it failed: ${(e as Error).message}`;
  }
}

/** The chunks to read of `chunks`: all, or SAMPLED_CHUNKS at random and the last. */
function sampledChunks(chunks: number): number[] {
  if (chunks <= SAMPLED_CHUNKS + 1) return Array.from({ length: chunks }, (_, i) => i);
  const picked = new Set<number>([chunks - 1]);
  while (picked.size <= SAMPLED_CHUNKS) picked.add(Math.floor(Math.random() * (chunks - 1)));
  return [...picked].sort((a, b) => a - b);
}

async function chunkProblem(
  index: CalendarIndex,
  journal: Journal,
  chunk: number,
  applied: number,
): Promise<string | undefined> {
  const first = chunk * CHUNK_RECORDS;
  const start = index.chunkStart(chunk);
  if (!start) return `it has no position for chunk ${chunk} (record ${first})`;
  const end = index.chunkStart(chunk + 1) ?? journal.headPosition;
  let records: ScannedRecord[];
  try {
    const bytes = await journal.readRecordBytes(start, end);
    records = parseChunk(bytes, first, await journal.chainHashBefore(start));
  } catch (e) {
    await throwIfJournalDamaged(journal, first);
    return `chunk ${chunk} is not where it says (segment ${start.segment} offset ${start.offset}): ${(e as Error).message}`;
  }
  const expected = Math.min(CHUNK_RECORDS, applied - first);
  if (records.length < expected) return `chunk ${chunk} holds ${records.length} records, not ${expected}`;
  for (const record of records.slice(0, expected)) {
    const problem = await entryProblem(index, journal, record);
    if (problem) return `record ${record.number}: ${problem}`;
  }
  return undefined;
}

/**
 * Reads the journal's own records from the start of the segment holding `first` through the chunk
 * from there (their chain hashes checked against the segment's header, not the index): throws
 * journalDamaged when they fail, so that journal damage is never taken for the index's.
 */
async function throwIfJournalDamaged(journal: Journal, first: number): Promise<void> {
  try {
    for await (const record of journal.read(first)) {
      if (record.number >= first + CHUNK_RECORDS - 1) break;
    }
  } catch (e) {
    if (e instanceof JournalCorruptError) throw journalDamaged(journal.dir, e);
    throw e;
  }
}

/** What is wrong with the index's entry for `record` of the journal (what it holds, where it finds it), or undefined. */
export async function entryProblem(
  index: CalendarIndex,
  journal: Journal,
  record: ScannedRecord,
  /** A proof record's leaves, when the caller has read them already. */
  leaves?: ProofLeaves,
): Promise<string | undefined> {
  if (record.kind === RecordKind.Commitment) {
    const held = index.commitmentAt(record.number);
    if (!held || !equalBytes(held, record.payload)) {
      return `the journal holds commitment ${toHex(record.payload)}, the index ${held ? toHex(held) : 'nothing'}`;
    }
    const found = index.lookup(record.payload);
    if (found.state === 'unknown' || found.record > record.number) {
      return `a lookup of commitment ${toHex(record.payload)} does not find it`;
    }
    // the record its proofs are listed under (the full check compares them: proof-references-check.ts)
    const first = index.firstRecordOf(record.number);
    if (found.record !== first) {
      return `the index lists its proofs under record ${first}, while its commitment is held first by record ${found.record}`;
    }
  } else if (record.kind === RecordKind.Proof) {
    const location = index.proofLocation(record.number);
    const stored = location && (await journal.readAt({ number: record.number, ...location }));
    if (!stored || !equalBytes(stored.chainHash, record.chainHash)) {
      return 'the index does not locate this proof where the journal has it';
    }
    return coveredProblem(index, record.number, leaves ?? ProofLeaves.of(record));
  }
  return undefined;
}
