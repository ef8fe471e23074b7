/**
 * The one shape of transaction a calendar takes from anyone (a donation: external stamping), checked
 * byte by byte, each refusal naming its rule. The rules are Bitcoin Core's relay policy narrowed to
 * what may enter a proof: a proof holds the transaction's non-witness bytes around the tip, so one
 * native segwit input with an empty scriptSig, `OP_RETURN PUSH32 <tip>` and at most one segwit change
 * leave at most 137 bytes in a proof, of which only the change's witness program (32 bytes at most)
 * is free-form. See docs/external-stamping.md for the list and why each rule is there.
 *
 * Rules 1-9 concern the bytes alone (`checkDonation`): they hold for donations posted to the calendar
 * and for transactions found in blocks. Rules 10-14 need the node and the calendar's state (the spent
 * output, the fee, the mempool, the caps, the node's own verdict); `checkSpend` is the part of them that
 * looks at the spent output.
 * @module
 */
import {
  type BitcoinTransaction,
  parseTransaction,
  serializedSize,
  sha256,
  toHex,
  virtualSize,
} from '../ots/index.js';

/** Rule 1's default: python-opentimestamps' max_tx_size. */
export const DEFAULT_MAX_DONATION_BYTES = 1000;
/** Rule 1 may be set no higher: Bitcoin Core's largest standard transaction, in vbytes. */
export const MAX_DONATION_BYTES_LIMIT = 100_000;
/** Rule 5: final, or signalling replacement (BIP125); no relative lock (BIP68). */
export const DONATION_SEQUENCES: readonly number[] = [0xfffffffd, 0xfffffffe, 0xffffffff];
/** nLockTime values from here on are times, not heights. */
const LOCKTIME_THRESHOLD = 500_000_000;

/** Why a donation is refused: one name per rule (or per way of breaking it). */
export const REFUSALS = {
  'not-a-transaction': 1,
  'too-large': 1,
  version: 2,
  inputs: 3,
  'input-witness': 4,
  sequence: 5,
  'lock-time': 6,
  'op-return': 7,
  change: 8,
  'tip-repeated': 9,
  'tip-not-offered': 9,
  'tip-proven': 9,
  'input-not-confirmed': 10,
  'fee-rate': 11,
  conflict: 12,
  'tip-full': 13,
  'too-many': 13,
  bumps: 13,
  'node-refused': 14,
} as const;
export type Refusal = keyof typeof REFUSALS;

export class DonationRefused extends Error {
  override name = 'DonationRefused';
  readonly refusal: Refusal;
  /** What was found, in a few words (never anything secret: it is answered to the donor). */
  readonly detail: string;

  constructor(refusal: Refusal, detail: string) {
    super(`rule ${REFUSALS[refusal]} (${refusal}): ${detail}`);
    this.refusal = refusal;
    this.detail = detail;
  }
}

/** The native segwit outputs a donation may spend and pay its change to, with Core's dust thresholds. */
export const SEGWIT_OUTPUTS = {
  p2wpkh: { prefix: [0x00, 0x14], length: 22, dust: 294n },
  p2wsh: { prefix: [0x00, 0x20], length: 34, dust: 330n },
  p2tr: { prefix: [0x51, 0x20], length: 34, dust: 330n },
} as const;
export type SegwitOutput = keyof typeof SEGWIT_OUTPUTS;

/** The kind of a P2WPKH, P2WSH or P2TR script; undefined for any other (P2A, a future version...). */
export function segwitOutputKind(script: Uint8Array): SegwitOutput | undefined {
  for (const [kind, shape] of Object.entries(SEGWIT_OUTPUTS) as [
    SegwitOutput,
    typeof SEGWIT_OUTPUTS.p2tr,
  ][]) {
    if (script.byteLength === shape.length && script[0] === shape.prefix[0] && script[1] === shape.prefix[1])
      return kind;
  }
  return undefined;
}

export interface DonationLimits {
  /** Rule 1: the most bytes, witness included. */
  maxTxBytes: number;
  /**
   * Rule 6: the height the transaction must be final in: the next block for one posted, its own block
   * for one found in the chain.
   */
  finalAt: number;
}

/** A donation that passes rules 1-9. */
export interface Donation {
  tx: BitcoinTransaction;
  /** The 32 bytes its OP_RETURN commits to. */
  tip: Uint8Array;
  /** Bytes, witness included. */
  size: number;
  vsize: number;
}

/** Rule 1's parse, then rules 2-9: for a donation posted as raw bytes. */
export function parseDonation(raw: Uint8Array, limits: DonationLimits): Donation {
  if (raw.byteLength > limits.maxTxBytes)
    throw new DonationRefused('too-large', `${raw.byteLength} bytes; at most ${limits.maxTxBytes}`);
  let tx: BitcoinTransaction;
  try {
    tx = parseTransaction(raw);
  } catch (e) {
    throw new DonationRefused('not-a-transaction', (e as Error).message);
  }
  return checkDonation(tx, limits);
}

const OP_RETURN = 0x6a;

/** Rules 1-9 on a parsed transaction (one found in a block included). */
export function checkDonation(tx: BitcoinTransaction, limits: DonationLimits): Donation {
  const size = serializedSize(tx);
  if (size > limits.maxTxBytes)
    throw new DonationRefused('too-large', `${size} bytes; at most ${limits.maxTxBytes}`);
  if (tx.version < 1 || tx.version > 3)
    throw new DonationRefused('version', `version ${tx.version}; 1, 2 or 3 required`);
  const input = tx.inputs[0];
  if (tx.inputs.length !== 1 || !input)
    throw new DonationRefused('inputs', `${tx.inputs.length} inputs; exactly one required`);
  if (input.scriptSig.byteLength > 0)
    throw new DonationRefused(
      'input-witness',
      `a scriptSig of ${input.scriptSig.byteLength} bytes: only a native segwit output, with an empty scriptSig, may be spent`,
    );
  // a transaction without witness data is serialized without the segwit marker: the same refusal
  if ((tx.witnesses[0]?.length ?? 0) === 0)
    throw new DonationRefused('input-witness', 'no witness: only a native segwit output may be spent');
  if (!DONATION_SEQUENCES.includes(input.sequence))
    throw new DonationRefused(
      'sequence',
      `nSequence 0x${input.sequence.toString(16)}; 0xfffffffd, 0xfffffffe or 0xffffffff required`,
    );
  if (tx.lockTime >= LOCKTIME_THRESHOLD || tx.lockTime >= limits.finalAt)
    throw new DonationRefused(
      'lock-time',
      `nLockTime ${tx.lockTime}; a height below ${Math.min(limits.finalAt, LOCKTIME_THRESHOLD)} required`,
    );
  if (tx.outputs.length < 1 || tx.outputs.length > 2)
    throw new DonationRefused('op-return', `${tx.outputs.length} outputs; one or two required`);
  const opReturns = tx.outputs.filter((o) => o.script[0] === OP_RETURN);
  const commitment = opReturns[0];
  if (opReturns.length !== 1 || !commitment)
    throw new DonationRefused('op-return', `${opReturns.length} OP_RETURN outputs; exactly one required`);
  if (commitment.script.byteLength !== 34 || commitment.script[1] !== 0x20)
    throw new DonationRefused(
      'op-return',
      `OP_RETURN script ${toHex(commitment.script.subarray(0, 40))}; exactly OP_RETURN PUSH32 <tip> required`,
    );
  if (commitment.value !== 0n)
    throw new DonationRefused(
      'op-return',
      `the OP_RETURN output carries ${commitment.value} sat; 0 required`,
    );
  const change = tx.outputs.find((o) => o !== commitment);
  if (change) {
    const kind = segwitOutputKind(change.script);
    if (!kind)
      throw new DonationRefused(
        'change',
        `change script ${toHex(change.script.subarray(0, 40))}; P2WPKH, P2WSH or P2TR required`,
      );
    if (change.value < SEGWIT_OUTPUTS[kind].dust)
      throw new DonationRefused(
        'change',
        `change of ${change.value} sat is dust for ${kind}; at least ${SEGWIT_OUTPUTS[kind].dust} required`,
      );
  }
  const tip = commitment.script.subarray(2);
  const occurrences = countOccurrences(tx.nonWitnessBytes, tip);
  if (occurrences !== 1)
    throw new DonationRefused('tip-repeated', `the tip occurs ${occurrences} times in the transaction`);
  return { tx, tip, size, vsize: virtualSize(tx, size) };
}

function countOccurrences(haystack: Uint8Array, needle: Uint8Array): number {
  const bytes = Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength);
  let count = 0;
  for (let at = bytes.indexOf(needle); at >= 0; at = bytes.indexOf(needle, at + 1)) count++;
  return count;
}

/** Bitcoin Core's IsWitnessStandard limits. */
const MAX_P2WSH_SCRIPT_BYTES = 3600;
const MAX_P2WSH_STACK_ITEMS = 100;
const MAX_STACK_ITEM_BYTES = 80;
const TAPROOT_ANNEX = 0x50;
const TAPSCRIPT_LEAF = 0xc0;

/**
 * Rules 10 and 4 once the spent output is known: it is P2WPKH, P2WSH or P2TR, and the witness is
 * standard for it (Core's IsWitnessStandard: a compressed key for P2WPKH, the P2WSH script matching its
 * program and the item limits, no Taproot annex and Tapscript items of at most 80 bytes).
 */
export function checkSpend(spent: Uint8Array, witness: readonly Uint8Array[]): SegwitOutput {
  const kind = segwitOutputKind(spent);
  if (!kind)
    throw new DonationRefused(
      'input-not-confirmed',
      `the spent output's script ${toHex(spent.subarray(0, 40))} is not P2WPKH, P2WSH or P2TR`,
    );
  const refuse = (detail: string): never => {
    throw new DonationRefused('input-witness', `${kind} spend: ${detail}`);
  };
  const last = witness.at(-1) ?? refuse('the witness is empty');
  if (kind === 'p2wpkh') {
    if (witness.length !== 2) refuse(`${witness.length} witness items; 2 required`);
    if (last.byteLength !== 33) refuse('the public key must be compressed (33 bytes)');
    if ((witness[0]?.byteLength ?? 0) > 73) refuse('the signature is longer than 73 bytes');
  } else if (kind === 'p2wsh') {
    if (last.byteLength > MAX_P2WSH_SCRIPT_BYTES) refuse(`a script of over ${MAX_P2WSH_SCRIPT_BYTES} bytes`);
    if (toHex(sha256(last)) !== toHex(spent.subarray(2))) refuse('the script does not match the program');
    if (witness.length - 1 > MAX_P2WSH_STACK_ITEMS) refuse(`over ${MAX_P2WSH_STACK_ITEMS} stack items`);
    if (witness.slice(0, -1).some((item) => item.byteLength > MAX_STACK_ITEM_BYTES))
      refuse(`a stack item of over ${MAX_STACK_ITEM_BYTES} bytes`);
  } else {
    if (witness.length >= 2 && last[0] === TAPROOT_ANNEX) refuse('an annex');
    if (witness.length === 1) {
      if (last.byteLength !== 64 && last.byteLength !== 65)
        refuse('a key-path signature of 64 or 65 bytes required');
    } else if ((last.byteLength - 33) % 32 !== 0 || last.byteLength > 33 + 32 * 128) {
      refuse('a malformed control block');
    } else if (((last[0] as number) & 0xfe) === TAPSCRIPT_LEAF) {
      if (witness.slice(0, -2).some((item) => item.byteLength > MAX_STACK_ITEM_BYTES))
        refuse(`a Tapscript stack item of over ${MAX_STACK_ITEM_BYTES} bytes`);
    }
  }
  return kind;
}
