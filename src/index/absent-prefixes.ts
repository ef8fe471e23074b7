/**
 * Which commitment prefixes an index certainly does not hold: one bit per 27-bit prefix, set for
 * every commitment indexed. Kept only from an empty index on (a new calendar or mirror, a rebuild),
 * where an unset bit proves a new commitment is no duplicate, and that none held shares its prefix
 * (what a mirror counts before it takes one), without a range read of the index (a few microseconds
 * each, most of a rebuild's or a mirror's sync time otherwise). A bit set in a transaction that did
 * not commit only costs a read. Once an eighth of the bits are set (some 17 million commitments) it
 * proves too little to be worth its 16 MiB, and is dropped.
 * @module
 */

const BITS = 27;
const FULL = 2 ** BITS / 8;

export class AbsentPrefixes {
  private readonly bits = new Uint8Array(2 ** BITS / 8);
  private set = 0;

  /** Whether no indexed commitment starts like `commitment` (false when one may). */
  absent(commitment: Uint8Array): boolean {
    const bit = prefixBits(commitment);
    return ((this.bits[bit >>> 3] as number) & (1 << (bit & 7))) === 0;
  }

  /** `commitment` is indexed. */
  add(commitment: Uint8Array): void {
    const bit = prefixBits(commitment);
    const byte = this.bits[bit >>> 3] as number;
    if ((byte & (1 << (bit & 7))) === 0) this.set++;
    this.bits[bit >>> 3] = byte | (1 << (bit & 7));
  }

  /** Whether it is set too densely to prove much. */
  get full(): boolean {
    return this.set >= FULL;
  }
}

/** The first 27 bits of `commitment` (zeros past a short one's end). */
function prefixBits(commitment: Uint8Array): number {
  const byte = (i: number) => commitment[i] ?? 0;
  return ((byte(0) << 19) | (byte(1) << 11) | (byte(2) << 3) | (byte(3) >>> 5)) >>> 0;
}
