/**
 * Opening a journal after a crash or a power cut: what is repaired, and what refuses to start. See
 * docs/journal-format.md, "Recovery rules".
 *
 * Why cutting damage off is safe: an append resolves only after its batch was fdatasynced and the
 * index had applied it, so every record a client was told about is durable, and is below the
 * position the index stored. A power cut can damage only what was written and not yet synced: a
 * group commit writes many records with one write, and the disk may keep any subset of its pages, so
 * an early record of the last batch can come back stale while a later one is intact. None of those
 * was acknowledged. Damage below the index's position is not a crash, and otsd stops.
 * @module
 */
import { dirname, join } from 'node:path';
import { toHex } from '../ots/index.js';
import { type JournalFiles, readFileRange } from './files.js';
import type { JournalHead } from './journal.js';
import { CHAIN_HASH_BYTES, GENESIS_CHAIN_HASH } from './record.js';
import { type ScanEnd, type ScannedRecord, scanRecords } from './scan.js';
import {
  decodeSegmentHeader,
  parseSegmentFileName,
  SEGMENT_HEADER_BYTES,
  segmentFileName,
} from './segment.js';
import { createSegment, listSegments, type SegmentState } from './segment-files.js';

/** pino-compatible: the journal logs recovery, and listeners that fail. */
export interface JournalLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** A logger that drops everything: the default where none is given. */
export const quietLog: JournalLogger = { info() {}, warn() {}, error() {} };

/** The journal cannot be opened as it is; the message names the file and record. */
export class JournalCorruptError extends Error {
  override name = 'JournalCorruptError';
}

export interface RecoveryOptions {
  dir: string;
  files: JournalFiles;
  log: JournalLogger;
  /** Create the directory and the first segment when there is no journal yet. */
  create: boolean;
  /**
   * How many records may have been acknowledged (the index's applied position); undefined when that
   * is not known, and then only a torn last record is cut off.
   */
  acknowledgedRecords: number | undefined;
  /**
   * `otsd reindex --accept-loss`: segments after a missing one (which cannot chain without it) are set
   * aside (renamed with SET_ASIDE_SUFFIX, not deleted) instead of refusing to open.
   */
  setAsideAfterGap?: boolean;
}

/** Added to the name of a segment set aside by --accept-loss: no longer read, still on disk. */
export const SET_ASIDE_SUFFIX = '.set-aside';

export interface RecoveredJournal {
  /** Every segment, the last one's size cut to its last intact record. */
  segments: SegmentState[];
  head: JournalHead;
}

/** Checks the segments, repairs what a crash can leave, and finds the head; throws JournalCorruptError on anything else. */
export async function recoverJournal(options: RecoveryOptions): Promise<RecoveredJournal> {
  const { dir, files } = options;
  if (options.create) await files.mkdir(dir);
  const names = await listSegments(files, dir);
  if (names.length > 0 && (await removeTornNewSegment(options, names.at(-1) as string))) names.pop();
  if (names.length === 0) {
    if (!options.create) throw new JournalCorruptError(`no journal segments in ${dir}`);
    if (options.acknowledgedRecords) {
      throw new JournalCorruptError(
        `no journal segments in ${dir}, but the index has applied ${options.acknowledgedRecords} records: refusing to start a new journal. Restore ${dir} from a backup or a mirror; to start a new calendar, remove the index as well`,
      );
    }
    await createSegment(files, dir, { first: 0, previousChainHash: GENESIS_CHAIN_HASH });
    // the journal directory may be new too, and the data directory with it (otsd init, a first run):
    // their entries, in the data directory and in its parent, must survive a power cut
    await files.syncDirectory(dirname(dir));
    await files.syncDirectory(dirname(dirname(dir)));
    names.push(segmentFileName(0));
  }
  const segments = await readSegmentChain(options, names);
  const last = segments.at(-1) as SegmentState;
  const head = await recoverLastSegment(options, last);
  if (options.acknowledgedRecords !== undefined && head.records < options.acknowledgedRecords) {
    const path = join(dir, segmentFileName(last.first));
    throw missingRecords(
      dir,
      head.records,
      options.acknowledgedRecords,
      `the journal ends at record ${head.records} (${path}, ${last.size} bytes)`,
    );
  }
  return { segments, head };
}

/**
 * The refusal when records `from` up to `acknowledged` are gone: cut off or removed, not damaged by a
 * crash (which cannot reach records already synced and applied). `where`: where the journal now ends.
 */
function missingRecords(dir: string, from: number, acknowledged: number, where: string): JournalCorruptError {
  return new JournalCorruptError(
    `journal ${dir}: records ${from}..${acknowledged - 1} are missing: ${where}, but the index has applied ${acknowledged} records, which clients may hold proofs of. Refusing to start. Restore the journal's segment files from a backup or a mirror (otsd verify-journal checks a copy); to go on without those records, run otsd reindex --accept-loss ${dirname(dir)}`,
  );
}

/**
 * The refusal when records `from` up to `to` are missing before segments that follow them (a segment
 * file removed): those cannot chain without them. Past the first segment, `otsd reindex --accept-loss`
 * can go on without them and every record after (setting the later segments aside).
 */
function segmentsMissing(dir: string, from: number, to: number, where: string): JournalCorruptError {
  const acceptLoss =
    from > 0
      ? `; to go on without them and every record after them, run otsd reindex --accept-loss ${dirname(dir)} (it sets the segment files after them aside)`
      : ': the segments after them chain to them, so otsd cannot go on without them';
  return new JournalCorruptError(
    `journal ${dir}: records ${from}..${to - 1} are missing: ${where} (a segment file removed?). Refusing to start. Restore the missing segment files from a backup or a mirror (otsd verify-journal checks a copy)${acceptLoss}`,
  );
}

/** The number after the last intact record of the segment at `path`. */
async function segmentEnd(files: JournalFiles, path: string, segment: SegmentState): Promise<number> {
  const scan = scanRecords(await readFileRange(files, path), {
    offset: SEGMENT_HEADER_BYTES,
    number: segment.first,
    previousChainHash: segment.previousChainHash,
  });
  let end = segment.first;
  for (let step = scan.next(); !step.done; step = scan.next()) end = step.value.number + 1;
  return end;
}

/**
 * A last segment whose header never reached the disk (a crash between creating the file and syncing
 * its header) holds no records: it is removed. Returns whether it was.
 */
async function removeTornNewSegment(options: RecoveryOptions, name: string): Promise<boolean> {
  const path = join(options.dir, name);
  const bytes = await readFileRange(options.files, path, 0, SEGMENT_HEADER_BYTES + 1);
  if (bytes.byteLength > SEGMENT_HEADER_BYTES) return false;
  const header = decodeSegmentHeader(bytes);
  if (typeof header !== 'string') return false;
  const first = parseSegmentFileName(name) as number;
  const acknowledged = options.acknowledgedRecords;
  if (acknowledged !== undefined && first < acknowledged) {
    // not a new segment: one that held records the index has applied, cut down to its header or less
    throw missingRecords(
      options.dir,
      first,
      acknowledged,
      `${path} is cut to ${bytes.byteLength} bytes (${header})`,
    );
  }
  options.log.warn(
    { segment: path, bytes: bytes.byteLength, reason: header },
    'journal: removing a new segment whose header never reached the disk (it holds no records)',
  );
  await options.files.unlink(path);
  await options.files.syncDirectory(options.dir);
  return true;
}

/** Reads the last segment record by record, and cuts off damage that was never acknowledged. */
async function recoverLastSegment(options: RecoveryOptions, last: SegmentState): Promise<JournalHead> {
  const path = join(options.dir, segmentFileName(last.first));
  const bytes = await readFileRange(options.files, path);
  const scan = scanRecords(bytes, {
    offset: SEGMENT_HEADER_BYTES,
    number: last.first,
    previousChainHash: last.previousChainHash,
  });
  let lastRecord: ScannedRecord | undefined;
  let end: ScanEnd;
  for (;;) {
    const step = scan.next();
    if (step.done) {
      end = step.value;
      break;
    }
    lastRecord = step.value;
  }
  // the chain hash copied: a view would keep the whole segment's bytes for as long as it is the head's
  const head: JournalHead = lastRecord
    ? { records: lastRecord.number + 1, chainHash: lastRecord.chainHash.slice() }
    : { records: last.first, chainHash: last.previousChainHash };
  last.size = bytes.byteLength;
  if (end.kind === 'end') return head;
  const acknowledged = options.acknowledgedRecords;
  const tornLast = end.kind === 'incomplete' || end.offset + end.size === bytes.byteLength;
  const where = `journal ${path}: record ${end.number} at offset ${end.offset}: ${end.reason}`;
  if (acknowledged === undefined && !tornLast) {
    throw new JournalCorruptError(
      `${where}; refusing to start: records follow it, and without the index nothing tells whether they were acknowledged. Run otsd verify-journal; restore the journal from a backup or a mirror`,
    );
  }
  if (acknowledged !== undefined && end.number < acknowledged && end.kind === 'incomplete') {
    throw missingRecords(
      options.dir,
      end.number,
      acknowledged,
      `${path} ends inside record ${end.number} (at offset ${end.offset}, ${bytes.byteLength} bytes)`,
    );
  }
  if (acknowledged !== undefined && end.number < acknowledged) {
    throw new JournalCorruptError(
      `${where}; refusing to start: the index has applied ${acknowledged} records, so this one may have been acknowledged. Run otsd verify-journal; restore the journal from a backup or a mirror; to go on without this record and those after it, run otsd reindex --accept-loss ${dirname(options.dir)}`,
    );
  }
  const damage = {
    segment: path,
    record: end.number,
    offset: end.offset,
    bytes: bytes.byteLength - end.offset,
    reason: end.reason,
    ...(acknowledged !== undefined && { acknowledgedRecords: acknowledged }),
  };
  if (tornLast) options.log.warn(damage, 'journal: truncating a torn last record');
  else options.log.error(damage, 'journal: truncating records written by a crash and never acknowledged');
  const handle = await options.files.open(path, 'r+');
  try {
    await handle.truncate(end.offset);
    await handle.sync();
  } finally {
    await handle.close();
  }
  last.size = end.offset;
  return head;
}

/**
 * Reads every segment header and checks that they link: names match headers, first numbers increase,
 * and each segment's previous chain hash is the last chain hash stored in the segment before it.
 */
async function readSegmentChain(options: RecoveryOptions, names: string[]): Promise<SegmentState[]> {
  const { files, dir } = options;
  const segments: SegmentState[] = [];
  let beforeLastHash: Uint8Array | undefined;
  for (const name of names) {
    const path = join(dir, name);
    const handle = await files.open(path, 'r');
    let header: ReturnType<typeof decodeSegmentHeader>;
    let size: number;
    let lastHash: Uint8Array | undefined;
    try {
      size = (await handle.stat()).size;
      const bytes = new Uint8Array(SEGMENT_HEADER_BYTES);
      await handle.read(bytes, 0, SEGMENT_HEADER_BYTES, 0);
      header = decodeSegmentHeader(bytes.subarray(0, Math.min(size, SEGMENT_HEADER_BYTES)));
      if (size >= SEGMENT_HEADER_BYTES + CHAIN_HASH_BYTES) {
        lastHash = new Uint8Array(CHAIN_HASH_BYTES);
        await handle.read(lastHash, 0, CHAIN_HASH_BYTES, size - CHAIN_HASH_BYTES);
      }
    } finally {
      await handle.close();
    }
    if (typeof header === 'string') throw new JournalCorruptError(`journal ${path}: ${header}`);
    if (header.first !== parseSegmentFileName(name)) {
      throw new JournalCorruptError(`journal ${path}: header says the first record is ${header.first}`);
    }
    const before = segments[segments.length - 1];
    if (!before && header.first !== 0) {
      throw segmentsMissing(dir, 0, header.first, `the first segment file is ${path}`);
    }
    if (before) {
      const beforeLast = before.size > SEGMENT_HEADER_BYTES ? beforeLastHash : before.previousChainHash;
      if (header.first <= before.first)
        throw new JournalCorruptError(`journal ${path}: segments out of order`);
      if (!beforeLast || toHex(beforeLast) !== toHex(header.previousChainHash)) {
        const beforePath = join(dir, segmentFileName(before.first));
        const end = await segmentEnd(files, beforePath, before);
        if (end < header.first && options.setAsideAfterGap) {
          await setAside(options, names.slice(names.indexOf(name)), end, header.first);
          break;
        }
        if (end < header.first) {
          throw segmentsMissing(
            dir,
            end,
            header.first,
            `${beforePath} ends at record ${end}, ${path} starts at record ${header.first}`,
          );
        }
        throw new JournalCorruptError(
          `journal ${path}: record ${header.first - 1} (the last before this segment) does not chain to it`,
        );
      }
    }
    segments.push({ first: header.first, previousChainHash: header.previousChainHash, size });
    beforeLastHash = lastHash;
  }
  return segments;
}

/**
 * Sets aside the segment files `names`, which follow records `gapFrom` up to `gapTo` that are missing:
 * the journal ends before the gap. Logged at error level with every file and the records they held.
 */
async function setAside(
  options: RecoveryOptions,
  names: string[],
  gapFrom: number,
  gapTo: number,
): Promise<void> {
  for (const name of names) {
    await options.files.rename(join(options.dir, name), join(options.dir, `${name}${SET_ASIDE_SUFFIX}`));
  }
  await options.files.syncDirectory(options.dir);
  options.log.error(
    {
      missing: `records ${gapFrom}..${gapTo - 1}`,
      setAside: names.map((n) => join(options.dir, `${n}${SET_ASIDE_SUFFIX}`)),
    },
    `journal: records ${gapFrom}..${gapTo - 1} are missing; the segments after them are set aside (renamed, not deleted) and the journal ends at record ${gapFrom}`,
  );
}
