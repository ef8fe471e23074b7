/**
 * The stamping transaction: one input (our previous change, or a funding output), a change output
 * back to our key, and `OP_RETURN <32-byte tip>`; version 2, nSequence 0xfffffffd (replaceable),
 * nLockTime = the current height. Signed locally with @scure/btc-signer.
 * @module
 */
import { OutScript, Transaction } from '@scure/btc-signer';
import { reverseBytes } from '../ots/index.js';
import type { WalletKey } from './wallet-key.js';

export const RBF_SEQUENCE = 0xfffffffd;
/** Below this a P2WPKH change output is dust by Bitcoin Core's policy. */
export const DUST_LIMIT = 294n;

export interface SpendableOutput {
  /** Internal byte order. */
  txid: Uint8Array;
  index: number;
  value: bigint;
}

export interface StampTxParams {
  input: SpendableOutput;
  tip: Uint8Array;
  /** sat/vB */
  feeRate: number;
  lockTime: number;
  key: WalletKey;
}

export interface StampTx {
  /** With witness: what is broadcast. */
  raw: Uint8Array;
  /** Internal byte order. */
  txid: Uint8Array;
  fee: bigint;
  vsize: number;
  change: bigint;
}

export class InsufficientFundsError extends Error {
  override name = 'InsufficientFundsError';
}

function sign(params: StampTxParams, fee: bigint): { tx: Transaction; change: bigint } {
  const change = params.input.value - fee;
  if (change < DUST_LIMIT) {
    throw new InsufficientFundsError(
      `stamping input of ${params.input.value} sat cannot pay a fee of ${fee} sat and keep change`,
    );
  }
  const tx = new Transaction({ version: 2, lockTime: params.lockTime, allowUnknownOutputs: true });
  tx.addInput({
    txid: reverseBytes(params.input.txid),
    index: params.input.index,
    sequence: RBF_SEQUENCE,
    witnessUtxo: { script: params.key.script, amount: params.input.value },
  });
  tx.addOutput({ script: params.key.script, amount: change });
  tx.addOutput({
    script: OutScript.encode({ type: 'unknown', script: new Uint8Array([0x6a, 0x20, ...params.tip]) }),
    amount: 0n,
  });
  tx.sign(params.key.privateKey);
  tx.finalize();
  return { tx, change };
}

/** Builds and signs the stamping transaction paying `feeRate` on its virtual size. */
export function buildStampTx(params: StampTxParams): StampTx {
  if (params.tip.byteLength !== 32) throw new RangeError('stamp tx: tip must be 32 bytes');
  if (!(params.feeRate > 0)) throw new RangeError('stamp tx: fee rate must be positive');
  // a signature can be a byte shorter or longer: size with a trial fee, then pay for the final size
  const trial = sign(params, 1n);
  let fee = BigInt(Math.ceil(params.feeRate * trial.tx.vsize));
  let { tx, change } = sign(params, fee);
  if (BigInt(Math.ceil(params.feeRate * tx.vsize)) > fee) {
    fee = BigInt(Math.ceil(params.feeRate * (tx.vsize + 1)));
    ({ tx, change } = sign(params, fee));
  }
  return {
    raw: tx.extract(),
    txid: reverseBytes(Uint8Array.from(Buffer.from(tx.id, 'hex'))),
    fee,
    vsize: tx.vsize,
    change,
  };
}
