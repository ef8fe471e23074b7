/**
 * How many of a group's commitments (verified, not yet indexed) have each 6-byte prefix (the index's
 * PREFIX_BYTES), for the count MAX_SHARED_PREFIX bounds: an open-addressing table over typed arrays, no object a commitment.
 * A Map keyed by the prefix as a number (48 bits: a heap number each) cost some 7 % of a sync's main
 * thread.
 * @module
 */
/** Slots at first; the table doubles before it is half full. */
const FIRST_SLOTS = 1024;

export class PrefixCounts {
  /** A slot's prefix: its first 4 bytes, and its last 2 plus one (0: an empty slot). */
  private high: Uint32Array;
  private low: Uint32Array;
  private counts: Uint32Array;
  private used = 0;
  private readonly seed = crypto.getRandomValues(new Uint32Array(1))[0] as number;
  /** Slots looked at so far, by every count and add: how well the prefixes spread (for the tests). */
  probes = 0;

  constructor() {
    this.high = new Uint32Array(FIRST_SLOTS);
    this.low = new Uint32Array(FIRST_SLOTS);
    this.counts = new Uint32Array(FIRST_SLOTS);
  }

  /** How many commitments added have the prefix of `commitment` (zero-padded as the index pads a shorter one). */
  count(commitment: Uint8Array): number {
    const slot = this.slotOf(highOf(commitment), lowOf(commitment));
    return this.counts[slot] as number;
  }

  /** One more commitment. */
  add(commitment: Uint8Array): void {
    if (2 * (this.used + 1) > this.counts.length) this.grow();
    const high = highOf(commitment);
    const low = lowOf(commitment);
    const slot = this.slotOf(high, low);
    if (this.low[slot] === 0) {
      this.high[slot] = high;
      this.low[slot] = low;
      this.used++;
    }
    this.counts[slot] = (this.counts[slot] as number) + 1;
  }

  /** The slot holding the prefix (high, low), or the empty one where it would go. */
  private slotOf(high: number, low: number): number {
    const mask = this.counts.length - 1;
    // both halves mixed into every bit, with a seed of this table's: prefixes of round tips are
    // uniform, but an upstream chooses its commitments, and could otherwise pile them into one run
    let slot = mix(mix(high ^ this.seed) ^ low) & mask;
    for (; ; slot = (slot + 1) & mask) {
      this.probes++;
      const held = this.low[slot] as number;
      if (held === 0 || (held === low && this.high[slot] === high)) return slot;
    }
  }

  private grow(): void {
    const { high, low, counts } = this;
    this.high = new Uint32Array(2 * counts.length);
    this.low = new Uint32Array(2 * counts.length);
    this.counts = new Uint32Array(2 * counts.length);
    for (let i = 0; i < counts.length; i++) {
      if (low[i] === 0) continue;
      const slot = this.slotOf(high[i] as number, low[i] as number);
      this.high[slot] = high[i] as number;
      this.low[slot] = low[i] as number;
      this.counts[slot] = counts[i] as number;
    }
  }
}

/** The first 4 bytes of a commitment's prefix. */
function highOf(commitment: Uint8Array): number {
  return (
    (((commitment[0] ?? 0) << 24) |
      ((commitment[1] ?? 0) << 16) |
      ((commitment[2] ?? 0) << 8) |
      (commitment[3] ?? 0)) >>>
    0
  );
}

/** The last 2 bytes of a commitment's prefix, plus one (never 0, an empty slot's). */
function lowOf(commitment: Uint8Array): number {
  return (((commitment[4] ?? 0) << 8) | (commitment[5] ?? 0)) + 1;
}

/** murmur3's finalizer: every bit of `h` moves every bit of the result. */
function mix(h: number): number {
  let x = h >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}
