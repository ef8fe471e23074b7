/**
 * Segment files held open for reading ranges of records asynchronously: the chunks an upstream
 * serves its mirrors, one every 256 records. An open and a close per chunk cost the upstream more
 * than the read itself (three trips to the thread pool for one). A few files are kept, the least
 * recently used closed first, once no read is using it. Only for records that do not change: the
 * durable ones (as SegmentFds, which keeps descriptors for synchronous reads).
 * @module
 */
import { join } from 'node:path';
import { type JournalFile, type JournalFiles, readRange } from './files.js';
import { segmentFileName } from './segment.js';

/** Segments kept open: the one being read, the one a chunk across a segment's end began in, a few more. */
const KEPT = 4;

interface Reader {
  readonly file: Promise<JournalFile>;
  /** Reads using it now: it is closed only once there are none. */
  users: number;
  /** No longer kept: closed when its last read ends. */
  dropped: boolean;
}

export class SegmentReaders {
  /** segment -> its reader, least recently used first */
  private readonly kept = new Map<number, Reader>();

  constructor(
    private readonly files: JournalFiles,
    private readonly dir: string,
  ) {}

  /** The bytes of segment `segment` from `start` up to `end` (fewer where the file ends first). */
  async read(segment: number, start: number, end: number): Promise<Uint8Array> {
    const reader = this.take(segment);
    try {
      return await readRange(await reader.file, start, end);
    } finally {
      reader.users--;
      if (reader.dropped && reader.users === 0) void closeQuietly(reader);
    }
  }

  /**
   * Closes every file kept (those being read once their reads end). A read after this opens its file
   * again: the journal closes them when it closes, and when a segment file it named may be made anew.
   */
  async close(): Promise<void> {
    const idle = [...this.kept.values()].filter((reader) => reader.users === 0);
    for (const reader of this.kept.values()) reader.dropped = true;
    this.kept.clear();
    await Promise.all(idle.map(closeQuietly));
  }

  /** The reader of `segment`, opened if need be, counted as used and made the most recent. */
  private take(segment: number): Reader {
    let reader = this.kept.get(segment);
    if (reader) {
      this.kept.delete(segment);
    } else {
      const opening = this.files.open(join(this.dir, segmentFileName(segment)), 'r');
      reader = { file: opening, users: 0, dropped: false };
      const opened = reader;
      // a file that failed to open is not kept: the next read tries again
      opening.catch(() => {
        if (this.kept.get(segment) === opened) this.kept.delete(segment);
      });
    }
    this.kept.set(segment, reader);
    reader.users++;
    for (const [oldest, old] of this.kept) {
      if (this.kept.size <= KEPT) break;
      this.kept.delete(oldest);
      old.dropped = true;
      if (old.users === 0) void closeQuietly(old);
    }
    return reader;
  }
}

/** Closes `reader`'s file; one that failed to open, or to close, has nothing left to release. */
async function closeQuietly(reader: Reader): Promise<void> {
  await reader.file
    .then(
      (file) => file.close(),
      () => undefined,
    )
    .catch(() => undefined);
}
