/**
 * Segment files on disk: listing them in record order, and creating one durably.
 * @module
 */
import { join } from 'node:path';
import { type JournalFiles, writeAll } from './files.js';
import { encodeSegmentHeader, parseSegmentFileName, type SegmentHeader, segmentFileName } from './segment.js';

/** A segment as the journal keeps it: its header and the bytes of the file that hold durable records. */
export interface SegmentState extends SegmentHeader {
  size: number;
}

/** The segment file names in `dir`, in record order. */
export async function listSegments(files: JournalFiles, dir: string): Promise<string[]> {
  return (await files.readdir(dir)).filter((n) => parseSegmentFileName(n) !== undefined).sort();
}

/**
 * Creates a segment holding only its header. The header is fsynced, and so is the directory: after a
 * power cut the file is there, with its header, before any record is written to it.
 */
export async function createSegment(files: JournalFiles, dir: string, header: SegmentHeader): Promise<void> {
  const handle = await files.open(join(dir, segmentFileName(header.first)), 'wx');
  try {
    await writeAll(handle, encodeSegmentHeader(header));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await files.syncDirectory(dir);
}
