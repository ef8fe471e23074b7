/**
 * The chain follower's saved state, as bytes for the index: where the scan is, what it found, and the
 * undo data of the last blocks. JSON, since it is small and read once per start; a state that does not
 * decode is refused with the reason (the follower then scans again, and nothing is lost).
 * @module
 */
import type { UnspentOutput } from '../bitcoin/node-client.js';
import { fromHex, toHex } from '../ots/index.js';

export interface BlockRef {
  height: number;
  /** Display order, as RPC prints it. */
  hash: string;
}

/** What connecting one block changed among the watched things, to take it back in a reorg. */
export interface BlockUndo {
  block: BlockRef;
  /** The hash of the block before it: the tip once this one is taken back. */
  prev: string;
  /** Outpoints (`outpointKey`) of the watched outputs it created. */
  created: string[];
  /** The watched outputs it spent, whole, to put back. */
  spent: UnspentOutput[];
  /** Watched txids (internal order, hex) it holds. */
  mined: string[];
  /** Its transactions paying watched output scripts, as `script:txid` (hex). */
  paying: string[];
}

export interface ScanState {
  /** The watched scripts (hex): a state found for other scripts is of no use. */
  scripts: string[];
  /** The lowest height whose outputs the state knows: the first block scanned, or 0 from the UTXO set. */
  origin: number;
  /** The last block applied; before the first, the block below `origin` (height -1 below genesis). */
  tip: BlockRef;
  outputs: UnspentOutput[];
  /** Watched txids (internal order, hex) and the block holding each. */
  mined: { txid: string; block: BlockRef }[];
  /**
   * Transactions paying a watched output script (hex), and the block holding each (a state an older
   * otsd saved has none: it watched no output scripts).
   */
  paying: { script: string; txid: string; block: BlockRef }[];
  /** The last blocks applied, oldest first, up to the follower's limit. */
  undo: BlockUndo[];
}

export class ScanStateError extends Error {
  override name = 'ScanStateError';
}

export const outpointKey = (txid: Uint8Array, index: number) => `${toHex(txid)}:${index}`;

type Json = Record<string, unknown>;

const encodeOutput = (o: UnspentOutput) => ({
  txid: toHex(o.txid),
  index: o.index,
  value: o.value.toString(),
  script: toHex(o.script),
  height: o.height,
  coinbase: o.coinbase,
});

export function encodeScanState(state: ScanState): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify({
      ...state,
      outputs: state.outputs.map(encodeOutput),
      undo: state.undo.map((u) => ({ ...u, spent: u.spent.map(encodeOutput) })),
    }),
  );
}

function field<T>(o: Json, name: string, check: (v: unknown) => v is T, what: string): T {
  const v = o[name];
  if (!check(v)) throw new ScanStateError(`chain scan state: ${name} is not ${what}`);
  return v;
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isArray = (v: unknown): v is unknown[] => Array.isArray(v);
const isHeight = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= -1;
const isHex = (v: unknown): v is string => typeof v === 'string' && /^(?:[0-9a-f]{2})*$/.test(v);
/** A block hash, or '' for the block below genesis. */
const isHash = (v: unknown): v is string => typeof v === 'string' && /^(?:[0-9a-f]{64})?$/.test(v);
const isTxid = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);
const isSats = (v: unknown): v is string => typeof v === 'string' && /^\d{1,16}$/.test(v);
const isBoolean = (v: unknown): v is boolean => typeof v === 'boolean';
const isOutpoint = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]{64}:\d{1,10}$/.test(v);
const isPayment = (v: unknown): v is string =>
  typeof v === 'string' && /^(?:[0-9a-f]{2})*:[0-9a-f]{64}$/.test(v);

function object(v: unknown, what: string): Json {
  if (!isObject(v)) throw new ScanStateError(`chain scan state: ${what} is not an object`);
  return v;
}

function decodeBlock(v: unknown): BlockRef {
  const o = object(v, 'a block');
  return { height: field(o, 'height', isHeight, 'a height'), hash: field(o, 'hash', isHash, 'a block hash') };
}

function decodeOutput(v: unknown): UnspentOutput {
  const o = object(v, 'an output');
  return {
    txid: fromHex(field(o, 'txid', isTxid, 'a txid')),
    index: field(o, 'index', (x): x is number => Number.isSafeInteger(x) && (x as number) >= 0, 'an index'),
    value: BigInt(field(o, 'value', isSats, 'an amount')),
    script: fromHex(field(o, 'script', isHex, 'a script')),
    height: field(o, 'height', isHeight, 'a height'),
    coinbase: field(o, 'coinbase', isBoolean, 'true or false'),
  };
}

function list<T>(o: Json, name: string, decode: (v: unknown) => T): T[] {
  return field(o, name, isArray, 'a list').map(decode);
}

/** A list that states saved by an older otsd do not have. */
function newerList<T>(o: Json, name: string, decode: (v: unknown) => T): T[] {
  return o[name] === undefined ? [] : list(o, name, decode);
}

function text(check: (v: unknown) => v is string, what: string): (v: unknown) => string {
  return (v) => {
    if (!check(v)) throw new ScanStateError(`chain scan state: an entry is not ${what}`);
    return v;
  };
}

export function decodeScanState(bytes: Uint8Array): ScanState {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw new ScanStateError(`chain scan state: not JSON (${(e as Error).message})`);
  }
  const o = object(parsed, 'the state');
  return {
    scripts: list(o, 'scripts', text(isHex, 'a script')),
    origin: field(o, 'origin', isHeight, 'a height'),
    tip: decodeBlock(o.tip),
    outputs: list(o, 'outputs', decodeOutput),
    mined: list(o, 'mined', (v) => {
      const m = object(v, 'a mined transaction');
      return { txid: field(m, 'txid', isTxid, 'a txid'), block: decodeBlock(m.block) };
    }),
    paying: newerList(o, 'paying', (v) => {
      const p = object(v, 'a paying transaction');
      return {
        script: field(p, 'script', isHex, 'a script'),
        txid: field(p, 'txid', isTxid, 'a txid'),
        block: decodeBlock(p.block),
      };
    }),
    undo: list(o, 'undo', (v) => {
      const u = object(v, 'undo data');
      return {
        block: decodeBlock(u.block),
        prev: field(u, 'prev', isHash, 'a block hash'),
        created: list(u, 'created', text(isOutpoint, 'an outpoint')),
        spent: list(u, 'spent', decodeOutput),
        mined: list(u, 'mined', text(isTxid, 'a txid')),
        paying: newerList(u, 'paying', text(isPayment, 'a script:txid')),
      };
    }),
  };
}
