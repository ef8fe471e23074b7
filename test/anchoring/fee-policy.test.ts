/** The fee arithmetic of stamping transactions, case by case. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  bumpedFeeRate,
  capExceeded,
  DEFAULT_FEE_POLICY,
  dayStart,
  type FeePolicy,
  firstFeeRate,
} from '../../src/anchoring/fee-policy.js';
import { NETWORKS } from '../../src/bitcoin/network.js';
import { buildStampTx } from '../../src/bitcoin/stamp-tx.js';
import { walletKeyFromPrivate } from '../../src/bitcoin/wallet-key.js';
import { parseTransaction, serializedSize, sha256, virtualSize } from '../../src/ots/index.js';

const policy = (changes: Partial<FeePolicy> = {}): FeePolicy => ({ ...DEFAULT_FEE_POLICY, ...changes });

describe('fee policy', () => {
  it('a first version pays the node’s estimate, or the policy’s rate without one, never over the cap', () => {
    const cases: [string, FeePolicy, number | undefined, number][] = [
      ['no estimate (regtest)', policy({ feeRate: 2 }), undefined, 2],
      ['an estimate', policy({ feeRate: 2 }), 7.5, 7.5],
      ['an estimate over the cap', policy({ maxFeeRate: 50 }), 80, 50],
      ['the policy’s rate over the cap', policy({ feeRate: 60, maxFeeRate: 50 }), undefined, 50],
    ];
    for (const [name, p, estimate, expected] of cases)
      assert.equal(firstFeeRate(p, estimate), expected, name);
  });

  it('a replacement pays the larger of the factor and the minimum step, within the cap', () => {
    const cases: [string, FeePolicy, number, number | undefined][] = [
      ['the factor wins', policy({ bumpFactor: 1.25, minBump: 1 }), 20, 25],
      ['the minimum step wins at low rates', policy({ bumpFactor: 1.25, minBump: 1 }), 2, 3],
      ['a step equal to the factor', policy({ bumpFactor: 1.5, minBump: 2 }), 4, 6],
      ['capped', policy({ maxFeeRate: 200 }), 190, 200],
      ['at the cap: no replacement', policy({ maxFeeRate: 200 }), 200, undefined],
      ['over the cap (lowered by SIGHUP): no replacement', policy({ maxFeeRate: 100 }), 150, undefined],
      ['a refused 0.5 sat/vB version', policy({ bumpFactor: 1.25, minBump: 1 }), 0.5, 1.5],
    ];
    for (const [name, p, previous, expected] of cases)
      assert.equal(bumpedFeeRate(p, previous), expected, name);
  });

  it('a version over a cap is refused with the cap it passes', () => {
    const p = policy({ maxFeePerTx: 10_000, maxSpendPerDay: 50_000 });
    const cases: [string, number, { spentToday: number; previousFee: number }, RegExp | undefined][] = [
      ['within both', 5_000, { spentToday: 0, previousFee: 0 }, undefined],
      ['exactly the per-transaction cap', 10_000, { spentToday: 0, previousFee: 0 }, undefined],
      [
        'over the per-transaction cap',
        10_001,
        { spentToday: 0, previousFee: 0 },
        /over the per-transaction cap of 10000 sat/,
      ],
      ['exactly the daily cap', 5_000, { spentToday: 45_000, previousFee: 0 }, undefined],
      [
        'over the daily cap',
        5_001,
        { spentToday: 45_000, previousFee: 0 },
        /pass the daily spend cap of 50000 sat/,
      ],
      // a replacement's previous version is in spentToday already: only the difference counts
      ['a replacement adds its difference', 8_000, { spentToday: 48_000, previousFee: 6_000 }, undefined],
      [
        'a replacement past the daily cap',
        9_000,
        { spentToday: 48_000, previousFee: 6_000 },
        /daily spend cap/,
      ],
      ['the per-transaction cap first', 20_000, { spentToday: 49_000, previousFee: 0 }, /per-transaction/],
    ];
    for (const [name, fee, spending, expected] of cases) {
      const refused = capExceeded(p, fee, spending);
      if (expected === undefined) assert.equal(refused, undefined, name);
      else assert.match(refused ?? '', expected, name);
    }
  });

  it('the daily window is the last 144 blocks, the tip included', () => {
    assert.equal(dayStart(1000), 857);
    assert.equal(dayStart(10), -133);
  });

  it('the virtual size of a stamping transaction is what it paid for', () => {
    const key = walletKeyFromPrivate(new Uint8Array(32).fill(1), NETWORKS.regtest);
    for (const feeRate of [1, 2.5, 20, 199]) {
      const built = buildStampTx({
        input: { txid: sha256(new Uint8Array([1])), index: 0, value: 1_000_000n },
        tip: sha256(new Uint8Array([2])),
        feeRate,
        lockTime: 100,
        key,
      });
      const tx = parseTransaction(built.raw);
      assert.equal(serializedSize(tx), built.raw.byteLength);
      const vsize = virtualSize(tx);
      assert.equal(vsize, built.vsize, `at ${feeRate} sat/vB`);
      assert.ok(Number(built.fee) / vsize >= feeRate, `pays at least ${feeRate} sat/vB`);
    }
  });
});
