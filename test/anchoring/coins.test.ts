/** Coinbase maturity, at the edges. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { COINBASE_MATURITY, isMature } from '../../src/anchoring/coins.js';

describe('coins', () => {
  it('a coinbase output is spendable from its 100th confirmation; any other at once', () => {
    const cases: [string, { height: number; coinbase: boolean }, number, boolean][] = [
      ['a payment, just mined', { height: 500, coinbase: false }, 500, true],
      ['a coinbase, 99 confirmations', { height: 500, coinbase: true }, 598, false],
      ['a coinbase, 100 confirmations', { height: 500, coinbase: true }, 500 + COINBASE_MATURITY - 1, true],
      ['a coinbase, the tip below it (a reorg)', { height: 500, coinbase: true }, 450, false],
    ];
    for (const [name, output, tip, expected] of cases) assert.equal(isMature(output, tip), expected, name);
  });
});
