/**
 * Segment files held open for reading back records synchronously (read-sync.ts): opening and closing
 * a file costs more than reading a record from it, and a lookup reads one record. A few are kept, the
 * least recently used closed first. Only for files whose records do not change: the durable records
 * of a running journal's segments (appended to, cut back only past its durable end).
 * @module
 */
import { closeSync, existsSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { segmentFileName } from './segment.js';

/** Segments kept open: a lookup's, a proof's commitments spanning a segment's end, and a few more. */
const KEPT = 4;

export class SegmentFds {
  readonly dir: string;
  /** segment -> file descriptor, least recently used first */
  private readonly open = new Map<number, number>();

  constructor(dir: string) {
    this.dir = dir;
  }

  /** The path of segment `segment`. */
  path(segment: number): string {
    return join(this.dir, segmentFileName(segment));
  }

  /**
   * A descriptor of segment `segment` open for reading (until KEPT other segments have been asked for:
   * read one segment at a time); undefined when the journal has no such segment.
   */
  fd(segment: number): number | undefined {
    const kept = this.open.get(segment);
    if (kept !== undefined) {
      this.open.delete(segment);
      this.open.set(segment, kept);
      return kept;
    }
    const path = this.path(segment);
    if (!existsSync(path)) return undefined;
    const fd = openSync(path, 'r');
    this.open.set(segment, fd);
    for (const [oldest, oldestFd] of this.open) {
      if (this.open.size <= KEPT) break;
      closeSync(oldestFd);
      this.open.delete(oldest);
    }
    return fd;
  }

  /** Closes every descriptor kept. */
  close(): void {
    for (const fd of this.open.values()) closeSync(fd);
    this.open.clear();
  }
}
