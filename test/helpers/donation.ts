/**
 * Donations built the way a donor builds them, with @scure/btc-signer: one key, its coins as P2WPKH,
 * P2TR (key path), P2WSH (a P2PK script), and the shapes the rules refuse (P2PKH, P2SH-P2WPKH, two
 * inputs, other outputs, other versions...), each signed for real. Used by the rules' fixture, and by
 * the tests on litecoind, where the calendar's node judges the signatures.
 */
import { p2pk, p2pkh, p2sh, p2tr, p2wpkh, p2wsh, Transaction, utils } from '@scure/btc-signer';
import { pubECDSA } from '@scure/btc-signer/utils.js';
import type { BitcoinNetwork } from '../../src/bitcoin/network.js';
import { concatBytes, parseTransaction, reverseBytes, sha256, Writer } from '../../src/ots/index.js';

export const COIN_KINDS = ['p2wpkh', 'p2tr', 'p2wsh', 'p2pkh', 'p2sh-p2wpkh'] as const;
export type CoinKind = (typeof COIN_KINDS)[number];

export interface DonorKey {
  privateKey: Uint8Array;
  publicKey: Uint8Array;
  network: BitcoinNetwork;
}

export function donorKey(privateKey: Uint8Array, network: BitcoinNetwork): DonorKey {
  return { privateKey, publicKey: pubECDSA(privateKey), network };
}

/** What a payment of `kind` to the key needs: its script and address, and what signing it needs. */
export function payment(key: DonorKey, kind: CoinKind) {
  switch (kind) {
    case 'p2wpkh':
      return p2wpkh(key.publicKey, key.network);
    case 'p2tr':
      return p2tr(utils.pubSchnorr(key.privateKey), undefined, key.network);
    case 'p2wsh':
      return p2wsh(p2pk(key.publicKey), key.network);
    case 'p2pkh':
      return p2pkh(key.publicKey, key.network);
    case 'p2sh-p2wpkh':
      return p2sh(p2wpkh(key.publicKey, key.network), key.network);
  }
}

/** An output the donor can spend. */
export interface Coin {
  /** Internal byte order. */
  txid: Uint8Array;
  index: number;
  value: bigint;
  kind: CoinKind;
}

/** An output script of another kind, for change: a fresh key's, or the anchor (P2A) or nothing. */
export type ChangeKind = CoinKind | 'p2a' | 'none';

export interface DonationOptions {
  coin: Coin;
  tip: Uint8Array;
  /** sat/vB (default 2), or `fee` in sat. */
  feeRate?: number;
  fee?: bigint;
  version?: number;
  lockTime?: number;
  sequence?: number;
  change?: ChangeKind;
  /** Change value instead of what is left after the fee (e.g. dust). */
  changeValue?: bigint;
  /** The OP_RETURN first instead of the change first. */
  opReturnFirst?: boolean;
  /** Instead of `6a20<tip>`. */
  opReturnScript?: Uint8Array;
  opReturnValue?: bigint;
  extraOutputs?: { script: Uint8Array; amount: bigint }[];
  extraInputs?: Coin[];
}

const P2A = Uint8Array.from([0x51, 0x02, 0x4e, 0x73]);

/** The output script paying the donor's change of `kind`. */
function changeScript(key: DonorKey, kind: Exclude<ChangeKind, 'none'>): Uint8Array {
  return kind === 'p2a' ? P2A : payment(key, kind).script;
}

function addInput(tx: Transaction, key: DonorKey, coin: Coin, sequence: number): void {
  const paid = payment(key, coin.kind);
  tx.addInput({
    txid: reverseBytes(coin.txid),
    index: coin.index,
    sequence,
    witnessUtxo: { script: paid.script, amount: coin.value },
    ...(coin.kind === 'p2tr' && { tapInternalKey: utils.pubSchnorr(key.privateKey) }),
    ...(coin.kind === 'p2wsh' && { witnessScript: p2pk(key.publicKey).script }),
    ...(coin.kind === 'p2sh-p2wpkh' && { redeemScript: p2wpkh(key.publicKey).script }),
  });
}

function build(key: DonorKey, o: DonationOptions, fee: bigint): Transaction {
  const tx = new Transaction({
    version: o.version ?? 2,
    lockTime: o.lockTime ?? 0,
    allowUnknownOutputs: true,
    allowUnknownVersion: true,
    allowLegacyWitnessUtxo: true,
  });
  const sequence = o.sequence ?? 0xfffffffd;
  for (const coin of [o.coin, ...(o.extraInputs ?? [])]) addInput(tx, key, coin, sequence);
  const inputValue = [o.coin, ...(o.extraInputs ?? [])].reduce((sum, c) => sum + c.value, 0n);
  const opReturn = {
    script: o.opReturnScript ?? concatBytes(Uint8Array.from([0x6a, 0x20]), o.tip),
    amount: o.opReturnValue ?? 0n,
  };
  const outputs = [];
  const extra = (o.extraOutputs ?? []).reduce((sum, e) => sum + e.amount, 0n);
  if ((o.change ?? 'p2wpkh') !== 'none') {
    const kind = (o.change ?? 'p2wpkh') as Exclude<ChangeKind, 'none'>;
    outputs.push({
      script: changeScript(key, kind),
      amount: o.changeValue ?? inputValue - fee - opReturn.amount - extra,
    });
  }
  if (o.opReturnFirst) outputs.unshift(opReturn);
  else outputs.push(opReturn);
  outputs.push(...(o.extraOutputs ?? []));
  for (const out of outputs) tx.addOutput(out);
  tx.sign(key.privateKey);
  tx.finalize();
  return tx;
}

/** A signed donation (raw bytes, witness included) paying `feeRate` on its size, or `fee`. */
export function buildDonation(key: DonorKey, o: DonationOptions): Uint8Array {
  if (o.fee !== undefined) return build(key, o, o.fee).extract();
  const rate = o.feeRate ?? 2;
  // a signature can be a byte longer or shorter: size with a trial fee, then pay for the final size
  const trial = build(key, o, 1000n);
  return build(key, o, BigInt(Math.ceil(rate * (trial.vsize + 1)))).extract();
}

/** A made-up outpoint (for transactions that never reach a node). */
export function madeUpCoin(kind: CoinKind, seed: number, value = 100_000n): Coin {
  return { txid: sha256(Uint8Array.from([seed])), index: seed % 3, value, kind };
}

/**
 * The same transaction serialized with other witness stacks (none: the legacy serialization), for
 * shapes a signer does not make: a padded witness, an empty one, an annex.
 */
export function withWitnesses(raw: Uint8Array, stacks: Uint8Array[][]): Uint8Array {
  const tx = parseTransaction(raw);
  const bytes = tx.nonWitnessBytes;
  if (stacks.length === 0) return bytes;
  const w = new Writer();
  for (const stack of stacks) {
    w.writeBytes(compactSize(stack.length));
    for (const item of stack) {
      w.writeBytes(compactSize(item.byteLength));
      w.writeBytes(item);
    }
  }
  return concatBytes(
    bytes.subarray(0, 4),
    Uint8Array.from([0, 1]),
    bytes.subarray(4, -4),
    w.toBytes(),
    bytes.subarray(-4),
  );
}

function compactSize(n: number): Uint8Array {
  if (n < 0xfd) return Uint8Array.from([n]);
  return Uint8Array.from([0xfd, n & 0xff, n >> 8]);
}
