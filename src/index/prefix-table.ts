/**
 * A number for each commitment prefix (its first PREFIX_BYTES, zero-padded as the index pads a shorter
 * commitment): an open-addressing table over typed arrays, no object a commitment. A mirror counts
 * the commitments of groups not indexed yet by their prefix in one (see MAX_SHARED_PREFIX); the
 * index finds the prefix entries of a transaction not put yet through one (PrefixEntryBatch). A Map
 * keyed by the prefix as a number (48 bits: a heap number each) cost some 7 % of a sync's main thread.
 * @module
 */
import { PREFIX_BYTES } from './prefix-entry.js';

// a prefix is its first 4 bytes and the rest plus one, each in a 32-bit word
if (PREFIX_BYTES < 4 || PREFIX_BYTES > 7)
  throw new Error(`PrefixTable: a ${PREFIX_BYTES}-byte prefix does not fit its slots`);

/** Slots at first; the table doubles before it is half full. */
const FIRST_SLOTS = 1024;

export class PrefixTable {
  /** A slot's prefix: its first 4 bytes, and the rest plus one (0: an empty slot). */
  private high: Uint32Array;
  private low: Uint32Array;
  private values: Uint32Array;
  private used = 0;
  private readonly seed = crypto.getRandomValues(new Uint32Array(1))[0] as number;
  /** Slots looked at so far, by every get and set: how well the prefixes spread (for the tests). */
  probes = 0;

  constructor() {
    this.high = new Uint32Array(FIRST_SLOTS);
    this.low = new Uint32Array(FIRST_SLOTS);
    this.values = new Uint32Array(FIRST_SLOTS);
  }

  /** The number kept for the prefix of `commitment` (0 for one never set). */
  get(commitment: Uint8Array): number {
    return this.values[this.slotOf(highOf(commitment), lowOf(commitment))] as number;
  }

  /** Keeps `value` (an unsigned 32-bit number) for the prefix of `commitment`. */
  set(commitment: Uint8Array, value: number): void {
    if (2 * (this.used + 1) > this.values.length) this.grow();
    const high = highOf(commitment);
    const low = lowOf(commitment);
    const slot = this.slotOf(high, low);
    if (this.low[slot] === 0) {
      this.high[slot] = high;
      this.low[slot] = low;
      this.used++;
    }
    this.values[slot] = value;
  }

  /** Forgets every prefix; keeps the slots it grew to. */
  clear(): void {
    if (this.used === 0) return;
    this.low.fill(0);
    this.values.fill(0);
    this.used = 0;
  }

  /** The slot holding the prefix (high, low), or the empty one where it would go. */
  private slotOf(high: number, low: number): number {
    const mask = this.values.length - 1;
    // both halves mixed into every bit, with a seed of this table's: prefixes of round tips are
    // uniform, but an upstream (or a client) chooses its commitments, and could otherwise pile them
    // into one run
    let slot = mix(mix(high ^ this.seed) ^ low) & mask;
    for (; ; slot = (slot + 1) & mask) {
      this.probes++;
      const held = this.low[slot] as number;
      if (held === 0 || (held === low && this.high[slot] === high)) return slot;
    }
  }

  private grow(): void {
    const { high, low, values } = this;
    this.high = new Uint32Array(2 * values.length);
    this.low = new Uint32Array(2 * values.length);
    this.values = new Uint32Array(2 * values.length);
    for (let i = 0; i < values.length; i++) {
      if (low[i] === 0) continue;
      const slot = this.slotOf(high[i] as number, low[i] as number);
      this.high[slot] = high[i] as number;
      this.low[slot] = low[i] as number;
      this.values[slot] = values[i] as number;
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

/** The bytes of a commitment's prefix after its first 4, plus one (never 0, an empty slot's). */
function lowOf(commitment: Uint8Array): number {
  let low = 0;
  for (let i = 4; i < PREFIX_BYTES; i++) low = low * 256 + (commitment[i] ?? 0);
  return low + 1;
}

/** murmur3's finalizer: every bit of `h` moves every bit of the result. */
function mix(h: number): number {
  let x = h >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}
