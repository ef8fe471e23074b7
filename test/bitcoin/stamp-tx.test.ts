/** Building stamping transactions and proofs without a node: fixed keys, fixed outputs. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bitcoinTipTimestamp } from '../../src/bitcoin/bitcoin-proof.js';
import { NETWORKS } from '../../src/bitcoin/network.js';
import { buildStampTx, InsufficientFundsError, RBF_SEQUENCE } from '../../src/bitcoin/stamp-tx.js';
import { walletKeyFromPrivate } from '../../src/bitcoin/wallet-key.js';
import {
  BitcoinBlockHeaderAttestation,
  concatBytes,
  parseTransaction,
  sha256,
  sha256d,
  Timestamp,
  toHex,
} from '../../src/ots/index.js';
import { headerWithRoot } from '../ots/vectors.js';

const key = walletKeyFromPrivate(new Uint8Array(32).fill(1), NETWORKS.regtest);
const input = { txid: sha256(new Uint8Array([1])), index: 3, value: 100_000n };
const tip = sha256(new Uint8Array([2]));

/** Bitcoin's block merkle root: sha256d pairs, the odd last one paired with itself. */
function blockRoot(txids: Uint8Array[]): Uint8Array {
  let level = txids;
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2)
      next.push(sha256d(concatBytes(level[i] as Uint8Array, (level[i + 1] ?? level[i]) as Uint8Array)));
    level = next;
  }
  return level[0] as Uint8Array;
}

describe('stamping transaction', () => {
  it('has one replaceable input, change to our key and OP_RETURN <tip>, locktime = height', () => {
    const built = buildStampTx({ input, tip, feeRate: 3, lockTime: 800_000, key });
    const tx = parseTransaction(built.raw);
    assert.equal(tx.version, 2);
    assert.equal(tx.lockTime, 800_000);
    assert.equal(tx.inputs.length, 1);
    assert.equal(toHex(tx.inputs[0]?.prevTxid as Uint8Array), toHex(input.txid));
    assert.equal(tx.inputs[0]?.prevIndex, 3);
    assert.equal(tx.inputs[0]?.sequence, RBF_SEQUENCE);
    assert.equal(tx.witnesses[0]?.length, 2, 'P2WPKH witness: signature and public key');
    assert.deepEqual(
      tx.outputs.map((o) => toHex(o.script)),
      [toHex(key.script), `6a20${toHex(tip)}`],
    );
    assert.equal(tx.outputs[0]?.value, 100_000n - built.fee);
    assert.equal(tx.outputs[1]?.value, 0n);
    assert.equal(toHex(tx.txid), toHex(built.txid));
    assert.ok(built.vsize >= 150 && built.vsize <= 155, `vsize ${built.vsize}`);
    assert.ok(Number(built.fee) >= 3 * built.vsize && Number(built.fee) <= 3 * (built.vsize + 1));
  });

  it('pays more at a higher rate and refuses to leave dust', () => {
    const low = buildStampTx({ input, tip, feeRate: 1, lockTime: 1, key });
    const high = buildStampTx({ input, tip, feeRate: 50.5, lockTime: 1, key });
    assert.ok(high.fee > low.fee * 40n);
    assert.throws(
      () => buildStampTx({ input: { ...input, value: 500n }, tip, feeRate: 5, lockTime: 1, key }),
      InsufficientFundsError,
    );
    assert.throws(
      () => buildStampTx({ input, tip: new Uint8Array(31), feeRate: 5, lockTime: 1, key }),
      RangeError,
    );
  });
});

describe('Bitcoin proof of a tip', () => {
  for (const [count, position] of [
    [1, 0],
    [2, 1],
    [5, 4],
    [7, 2],
  ] as const) {
    it(`reaches the merkle root of a block of ${count} transactions (ours at ${position})`, () => {
      const built = buildStampTx({ input, tip, feeRate: 2, lockTime: 10, key });
      const tx = parseTransaction(built.raw);
      const txids = Array.from({ length: count }, (_, i) =>
        i === position ? tx.txid : sha256d(new Uint8Array([i])),
      );
      const root = blockRoot(txids);
      const header = headerWithRoot(root, 1700000000);
      const timestamp = bitcoinTipTimestamp(tip, tx, { height: 123, header, txids });
      const found = timestamp.shortestPathTo((a) => a instanceof BitcoinBlockHeaderAttestation);
      assert.ok(found);
      assert.equal(toHex(found.msg), toHex(root));
      assert.equal((found.attestation as BitcoinBlockHeaderAttestation).height, 123);
      assert.equal(
        (found.attestation as BitcoinBlockHeaderAttestation).verifyAgainstBlockHeader(found.msg, header),
        1700000000,
      );
      // it serializes and parses back unchanged
      assert.ok(Timestamp.fromBytes(tip, timestamp.toBytes()).equals(timestamp));
    });
  }

  it('refuses a transaction without the tip, or a block without the transaction', () => {
    const tx = parseTransaction(buildStampTx({ input, tip, feeRate: 2, lockTime: 10, key }).raw);
    const other = sha256d(new Uint8Array([9]));
    assert.throws(
      () =>
        bitcoinTipTimestamp(sha256(new Uint8Array([3])), tx, {
          height: 1,
          header: headerWithRoot(tx.txid, 1),
          txids: [tx.txid],
        }),
      /does not commit/,
    );
    assert.throws(
      () => bitcoinTipTimestamp(tip, tx, { height: 1, header: headerWithRoot(other, 1), txids: [other] }),
      /not in block/,
    );
    assert.throws(
      () => bitcoinTipTimestamp(tip, tx, { height: 1, header: headerWithRoot(other, 1), txids: [tx.txid] }),
      /does not reach/,
    );
  });
});
