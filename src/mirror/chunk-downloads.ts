/**
 * Upstream chunks downloaded ahead of the one being checked: the network works while the mirror
 * verifies and appends, and at most `ahead` bodies (each bounded, see ChunkSource) wait at once.
 * @module
 */
import type { ChunkSource } from './chunk-source.js';

export class ChunkDownloads {
  private readonly started = new Map<number, Promise<Uint8Array | undefined>>();
  private next: number;

  /** Chunks `first` up to (not including) `end`, taken in order. */
  constructor(
    private readonly source: ChunkSource,
    first: number,
    private readonly end: number,
    private readonly ahead: number,
  ) {
    this.next = first;
  }

  /** Chunk `chunk` (as ChunkSource.chunk answers), with the downloads after it started. */
  take(chunk: number): Promise<Uint8Array | undefined> {
    for (; this.next < this.end && this.next < chunk + this.ahead; this.next++) {
      const download = this.source.chunk(this.next);
      // a download after a chunk that fails is never taken: its failure is no one's to handle
      download.catch(() => undefined);
      this.started.set(this.next, download);
    }
    const download = this.started.get(chunk);
    this.started.delete(chunk);
    return download ?? this.source.chunk(chunk);
  }
}
