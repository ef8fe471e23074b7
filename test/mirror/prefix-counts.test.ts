/**
 * PrefixCounts counts a group's commitments by their 6-byte prefix (zero-padded, as the index pads a
 * shorter one) exactly as a Map keyed by the prefix's hex does, through collisions of its table and
 * as it grows.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { PrefixCounts } from '../../src/mirror/prefix-counts.js';
import { toHex } from '../../src/ots/index.js';

/** The index's key for a commitment's prefix: its first 6 bytes, zero-padded. */
const prefixHex = (commitment: Uint8Array) => {
  const prefix = new Uint8Array(6);
  prefix.set(commitment.subarray(0, 6));
  return toHex(prefix);
};

describe('PrefixCounts', () => {
  it('counts as a Map of the prefixes does', () => {
    // few distinct first bytes, so that prefixes repeat, differ only in their last bytes, or are short
    const commitment = fc.uint8Array({ minLength: 1, maxLength: 40 }).map((bytes) => {
      for (let i = 0; i < Math.min(bytes.length, 6); i++) bytes[i] = (bytes[i] as number) % (i < 4 ? 2 : 5);
      return bytes;
    });
    fc.assert(
      fc.property(
        fc.array(commitment, { maxLength: 3000 }),
        fc.array(commitment, { maxLength: 50 }),
        (added, asked) => {
          const counts = new PrefixCounts();
          const expected = new Map<string, number>();
          for (const c of added) {
            counts.add(c);
            expected.set(prefixHex(c), (expected.get(prefixHex(c)) ?? 0) + 1);
          }
          for (const c of [...added, ...asked])
            assert.equal(counts.count(c), expected.get(prefixHex(c)) ?? 0);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('tells apart prefixes that differ in any one of their 6 bytes, and a short one from its zero padding', () => {
    const counts = new PrefixCounts();
    const base = new Uint8Array(32).fill(0xab);
    counts.add(base);
    for (let i = 0; i < 6; i++) {
      const other = base.slice();
      other[i] = 0xac;
      assert.equal(counts.count(other), 0, `byte ${i}`);
    }
    const past = base.slice();
    past[6] = 0;
    assert.equal(counts.count(past), 1, 'a byte past the prefix is not counted');
    counts.add(new Uint8Array([1, 2, 3]));
    assert.equal(counts.count(new Uint8Array([1, 2, 3, 0, 0, 0, 9])), 1);
    assert.equal(counts.count(new Uint8Array([1, 2, 3, 0, 0, 1])), 0);
  });
});
