/**
 * PrefixCounts counts a group's commitments by their 6-byte prefix (zero-padded, as the index pads a
 * shorter one) exactly as a Map keyed by the prefix's hex does, through collisions of its table and
 * as it grows, and spreads prefixes an upstream chose to pile up.
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
    // few distinct values in each of the first bytes, so that prefixes repeat, differ only in their
    // last bytes, or are short; enough of them that the table grows
    const commitment = fc.uint8Array({ minLength: 1, maxLength: 40, size: 'max' }).map((bytes) => {
      for (let i = 0; i < Math.min(bytes.length, 6); i++) bytes[i] = (bytes[i] as number) % (i < 2 ? 16 : 3);
      return bytes;
    });
    let grew = 0;
    fc.assert(
      fc.property(
        fc.array(commitment, { minLength: 1, maxLength: 3000, size: 'max' }),
        fc.array(commitment, { maxLength: 50 }),
        (added, asked) => {
          const counts = new PrefixCounts();
          const expected = new Map<string, number>();
          for (const c of added) {
            counts.add(c);
            expected.set(prefixHex(c), (expected.get(prefixHex(c)) ?? 0) + 1);
          }
          if (expected.size > 512) grew++;
          for (const c of [...added, ...asked])
            assert.equal(counts.count(c), expected.get(prefixHex(c)) ?? 0);
        },
      ),
      { numRuns: 100 },
    );
    assert.ok(grew > 10, `the table grew in ${grew} runs of 100`);
  });

  it('spreads prefixes an upstream chose alike in all but a few bytes', () => {
    // all distinct (none is refused for sharing its prefix), each alike but in two of its first bytes
    for (const varied of [0, 2, 4]) {
      const counts = new PrefixCounts();
      const n = 32 * 1024;
      for (let i = 0; i < n; i++) {
        const c = new Uint8Array(32).fill(0x5a);
        c[varied] = i >> 8;
        c[varied + 1] = i & 255;
        counts.count(c);
        counts.add(c);
      }
      // a slot or two looked at a lookup, as for random ones; one cluster took thousands each
      assert.ok(
        counts.probes / (2 * n) < 4,
        `bytes ${varied}-${varied + 1}: ${counts.probes / (2 * n)} slots a lookup`,
      );
    }
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
