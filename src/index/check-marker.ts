/**
 * The index's check marker: a file in the index directory written before the index is checked or
 * rebuilt and removed after, holding the acknowledged position in JSON. Found at start, it says otsd
 * ended in the middle (LMDB reading a damaged page can end the process with SIGSEGV) and what the
 * rebuilt index must keep. It is written whole or not at all (a temporary file, synced, renamed and
 * its directory synced): an empty marker left by a full disk or a power cut would read as "no position"
 * and let a cut journal through.
 * @module
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { ReadCursor } from '../journal/journal.js';
import { isStorageError } from '../journal/outage.js';
import { cursorFromJson, cursorToJson } from './cursor-json.js';

export const CHECK_MARKER = 'check-started';
const TEMPORARY = `${CHECK_MARKER}.tmp`;

/** Whether the index at `indexPath` has a marker (whatever it holds). */
export const hasCheckMarker = (indexPath: string): boolean => existsSync(join(indexPath, CHECK_MARKER));

/** The position the marker holds; undefined when it holds none or cannot be read. */
export function readCheckMarker(indexPath: string): ReadCursor | undefined {
  try {
    return cursorFromJson(readFileSync(join(indexPath, CHECK_MARKER), 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Writes the marker holding `acknowledged`, durably, replacing any. On failure nothing new is left
 * behind and the error names the file; a full disk says to make room.
 */
export function writeCheckMarker(indexPath: string, acknowledged: ReadCursor | undefined): void {
  const marker = join(indexPath, CHECK_MARKER);
  const temporary = join(indexPath, TEMPORARY);
  try {
    const file = openSync(temporary, 'w');
    try {
      writeSync(file, acknowledged ? cursorToJson(acknowledged) : '{}');
      fsyncSync(file);
    } finally {
      closeSync(file);
    }
    renameSync(temporary, marker);
    syncDirectory(indexPath);
  } catch (e) {
    rmSync(temporary, { force: true });
    const advice = isStorageError(e)
      ? ': the disk is full or failing. Make room on it (or mend it) and start otsd again; nothing was lost'
      : '';
    throw new Error(`index: writing ${marker} failed: ${(e as Error).message}${advice}`, { cause: e });
  }
}

/** Removes the marker (the check and catch-up ended well). */
export function removeCheckMarker(indexPath: string): void {
  rmSync(join(indexPath, CHECK_MARKER), { force: true });
}

function syncDirectory(dir: string): void {
  const handle = openSync(dir, 'r');
  try {
    fsyncSync(handle);
  } finally {
    closeSync(handle);
  }
}
