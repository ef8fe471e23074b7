/**
 * The rules a donation must pass, driven by test/fixtures/external-tx.json (each case a signed
 * transaction and the rule it breaks), and the property that every transaction the calendar itself
 * builds passes the rules on bytes (design scenario E20).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  checkDonation,
  checkSpend,
  DonationRefused,
  parseDonation,
  REFUSALS,
  segwitOutputKind,
} from '../../src/bitcoin/donation-rules.js';
import { NETWORKS } from '../../src/bitcoin/network.js';
import { buildStampTx, InsufficientFundsError } from '../../src/bitcoin/stamp-tx.js';
import { walletKeyFromPrivate } from '../../src/bitcoin/wallet-key.js';
import { fromHex, parseTransaction, toHex } from '../../src/ots/index.js';

interface Fixture {
  tip: string;
  final_at: number;
  max_tx_bytes: number;
  cases: {
    description: string;
    hex: string;
    refusal: string | null;
    spent?: string;
    max_tx_bytes?: number;
  }[];
}

const fixture = JSON.parse(
  readFileSync(new URL('../../../test/fixtures/external-tx.json', import.meta.url), 'utf8'),
) as Fixture;

/** The refusal of the whole check (bytes, then the spent output when the case names it), or null. */
function verdict(c: Fixture['cases'][number]): string | null {
  try {
    const donation = parseDonation(fromHex(c.hex), {
      maxTxBytes: c.max_tx_bytes ?? fixture.max_tx_bytes,
      finalAt: fixture.final_at,
    });
    assert.equal(toHex(donation.tip), fixture.tip, `${c.description}: the tip`);
    if (c.spent) checkSpend(fromHex(c.spent), donation.tx.witnesses[0] ?? []);
    return null;
  } catch (e) {
    if (e instanceof DonationRefused) return e.refusal;
    throw e;
  }
}

describe('donation rules', () => {
  for (const c of fixture.cases) {
    it(`${c.refusal === null ? 'takes' : `refuses (${c.refusal})`}: ${c.description}`, () => {
      assert.equal(verdict(c), c.refusal);
    });
  }

  it('the fixture breaks every rule on bytes and on the spent output at least once', () => {
    const broken = new Set(fixture.cases.map((c) => c.refusal));
    const context = [
      'tip-not-offered',
      'tip-proven',
      'fee-rate',
      'conflict',
      'tip-full',
      'too-many',
      'bumps',
      'node-refused',
    ];
    for (const refusal of Object.keys(REFUSALS).filter((r) => !context.includes(r)))
      assert.ok(broken.has(refusal), `no case breaks ${refusal}`);
  });

  it('each refusal names its rule and what was found', () => {
    const c = fixture.cases.find((x) => x.refusal === 'inputs');
    assert.throws(
      () => parseDonation(fromHex(c?.hex ?? ''), { maxTxBytes: 1000, finalAt: fixture.final_at }),
      (e: DonationRefused) => e.message === 'rule 3 (inputs): 2 inputs; exactly one required',
    );
  });

  it('knows the three spendable kinds of output, and no other', () => {
    assert.equal(segwitOutputKind(fromHex(`0014${'11'.repeat(20)}`)), 'p2wpkh');
    assert.equal(segwitOutputKind(fromHex(`0020${'11'.repeat(32)}`)), 'p2wsh');
    assert.equal(segwitOutputKind(fromHex(`5120${'11'.repeat(32)}`)), 'p2tr');
    for (const other of [
      '51024e73',
      `5220${'11'.repeat(32)}`,
      `0014${'11'.repeat(21)}`,
      `a914${'11'.repeat(20)}87`,
    ])
      assert.equal(segwitOutputKind(fromHex(other)), undefined, other);
  });

  it('every transaction the calendar builds passes the rules on bytes (E20)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }).filter((k) => k.some((b) => b !== 0)),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.nat(2 ** 32 - 1),
        fc.bigInt(1000n, 21_000_000n * 100_000_000n),
        fc.double({ min: 0.1, max: 1000, noNaN: true }),
        fc.nat(499_999_999),
        (privateKey, tip, txid, index, value, feeRate, lockTime) => {
          let key: ReturnType<typeof walletKeyFromPrivate>;
          try {
            key = walletKeyFromPrivate(privateKey, NETWORKS.main);
          } catch {
            return; // not a valid secp256k1 scalar
          }
          let raw: Uint8Array;
          try {
            raw = buildStampTx({ input: { txid, index, value }, tip, feeRate, lockTime, key }).raw;
          } catch (e) {
            if (e instanceof InsufficientFundsError) return;
            throw e;
          }
          const donation = checkDonation(parseTransaction(raw), { maxTxBytes: 1000, finalAt: lockTime + 1 });
          assert.equal(toHex(donation.tip), toHex(tip));
          assert.equal(checkSpend(key.script, donation.tx.witnesses[0] ?? []), 'p2wpkh');
        },
      ),
      { numRuns: 200 },
    );
  });
});
