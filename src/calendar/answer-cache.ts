/**
 * Serialized proofs kept for GET /timestamp, least recently used dropped first, bounded by their total
 * size. A proved commitment's answer never changes (the first proof that covers it is served), so an
 * entry needs no invalidation; rebuilding it per request (index reads, a timestamp tree, a sha256 per
 * op, serialization) cost most of a GET.
 * @module
 */

/** An answer held, in the list of answers from the least to the most recently used. */
interface Entry {
  key: string;
  answer: Uint8Array;
  older: Entry | undefined;
  newer: Entry | undefined;
}

export class AnswerCache {
  private readonly entries = new Map<string, Entry>();
  /** The least and the most recently used. */
  private oldest: Entry | undefined;
  private newest: Entry | undefined;
  private bytes = 0;

  constructor(readonly maxBytes: number) {}

  /** Total size of the answers held. */
  get size(): number {
    return this.bytes;
  }

  /**
   * A hit moves its entry to the newest end of the list: a few links, where moving it to the end of
   * the Map's order (a delete and a set) cost two hash lookups on every GET.
   */
  get(key: string): Uint8Array | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry !== this.newest) {
      this.unlink(entry);
      this.link(entry);
    }
    return entry.answer;
  }

  set(key: string, answer: Uint8Array): void {
    const old = this.entries.get(key);
    if (old) this.drop(old);
    if (answer.byteLength > this.maxBytes) return;
    const entry: Entry = { key, answer, older: undefined, newer: undefined };
    this.entries.set(key, entry);
    this.link(entry);
    this.bytes += answer.byteLength;
    while (this.bytes > this.maxBytes) this.drop(this.oldest as Entry);
  }

  private drop(entry: Entry): void {
    this.entries.delete(entry.key);
    this.unlink(entry);
    this.bytes -= entry.answer.byteLength;
  }

  /** Makes `entry` the newest. */
  private link(entry: Entry): void {
    entry.older = this.newest;
    entry.newer = undefined;
    if (this.newest) this.newest.newer = entry;
    else this.oldest = entry;
    this.newest = entry;
  }

  private unlink(entry: Entry): void {
    if (entry.older) entry.older.newer = entry.newer;
    else this.oldest = entry.newer;
    if (entry.newer) entry.newer.older = entry.older;
    else this.newest = entry.older;
  }
}
