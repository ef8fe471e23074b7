/**
 * Serialized proofs kept for GET /timestamp, least recently used dropped first, bounded by their total
 * size. A proved commitment's answer never changes (the first proof that covers it is served), so an
 * entry needs no invalidation; rebuilding it per request (index reads, a timestamp tree, a sha256 per
 * op, serialization) cost most of a GET.
 * @module
 */
export class AnswerCache {
  private readonly entries = new Map<string, Uint8Array>();
  private bytes = 0;

  constructor(readonly maxBytes: number) {}

  /** Total size of the answers held. */
  get size(): number {
    return this.bytes;
  }

  get(key: string): Uint8Array | undefined {
    const answer = this.entries.get(key);
    if (answer) {
      // a Map iterates in insertion order: moved to the end, it is the last dropped
      this.entries.delete(key);
      this.entries.set(key, answer);
    }
    return answer;
  }

  set(key: string, answer: Uint8Array): void {
    const old = this.entries.get(key);
    if (old) {
      this.entries.delete(key);
      this.bytes -= old.byteLength;
    }
    if (answer.byteLength > this.maxBytes) return;
    this.entries.set(key, answer);
    this.bytes += answer.byteLength;
    for (const [oldest, dropped] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= dropped.byteLength;
    }
  }
}
