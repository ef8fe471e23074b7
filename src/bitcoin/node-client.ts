/**
 * What the stamper asks of a node, typed, in the forms common to Bitcoin Core, litecoind and bcoin:
 * block data, gettxout, sendrawtransaction and the mempool; for pruned nodes, the UTXO set
 * (`scantxoutset`, which bcoin lacks); and for donations, `testmempoolaccept` where the node has it.
 * @module
 */
import { type BitcoinTransaction, fromHex, parseBlock, reverseBytes, toHex } from '../ots/index.js';
import { RpcClient, RpcError, type RpcOptions } from './rpc-client.js';
import type { SpendableOutput } from './stamp-tx.js';

export interface Block {
  height: number;
  /** Display order, as RPC prints it. */
  hash: string;
  header: Uint8Array;
  transactions: BitcoinTransaction[];
}

/** An unspent output as the chain holds it. */
export interface UnspentOutput extends SpendableOutput {
  script: Uint8Array;
  /** Height of the block that created it. */
  height: number;
  /** A coinbase output can be spent only once mature (100 confirmations). */
  coinbase: boolean;
}

export interface ChainInfo {
  /** Whether the node deletes old blocks. */
  pruned: boolean;
  /** The lowest height whose block the node still has (0 when not pruned). */
  pruneHeight: number;
}

/** The unspent outputs paying some scripts, as of the block `hash` at `height`. */
export interface UtxoSnapshot {
  height: number;
  hash: string;
  outputs: UnspentOutput[];
}

/** An unspent output in the chain, as `gettxout` describes it. */
export interface ChainOutput {
  value: bigint;
  script: Uint8Array;
  /** Blocks deep: 1 for an output of the tip block. */
  confirmations: number;
  coinbase: boolean;
}

/** The node's verdict on a transaction, without relaying it (`testmempoolaccept`). */
export type MempoolVerdict = { allowed: true } | { allowed: false; reason: string };

/** JSON-RPC's "method not found": the node lacks a call (bcoin has no testmempoolaccept). */
const METHOD_NOT_FOUND = -32601;

/** scantxoutset reads the node's whole UTXO set: minutes on mainnet. */
const UTXO_SCAN_TIMEOUT_MS = 20 * 60_000;

interface ScanTxOutSetAnswer {
  height: number;
  bestblock: string;
  unspents: { txid: string; vout: number; scriptPubKey: string; amount: number; height: number }[];
}

export class NodeClient {
  readonly rpc: RpcClient;

  constructor(options: RpcOptions) {
    this.rpc = new RpcClient(options);
  }

  blockCount(): Promise<number> {
    return this.rpc.call<number>('getblockcount');
  }

  bestBlockHash(): Promise<string> {
    return this.rpc.call<string>('getbestblockhash');
  }

  blockHash(height: number): Promise<string> {
    return this.rpc.call<string>('getblockhash', height);
  }

  /** The 80-byte header of the block at `height`, as hex (`getblockheader <hash> false`). */
  async blockHeaderHex(height: number): Promise<string> {
    return this.rpc.call<string>('getblockheader', await this.blockHash(height), false);
  }

  /** Up to `count` 80-byte headers from height `from`, stopping at the tip. */
  async headers(from: number, count: number): Promise<Uint8Array[]> {
    const tip = await this.blockCount();
    const out: Uint8Array[] = [];
    for (let h = from; h <= Math.min(tip, from + count - 1); h++)
      out.push(Uint8Array.from(Buffer.from(await this.blockHeaderHex(h), 'hex')));
    return out;
  }

  /** The raw block (verbosity 0 works on all three nodes), parsed. */
  async block(height: number, hash?: string): Promise<Block> {
    const blockHash = hash ?? (await this.blockHash(height));
    const hex = await this.rpc.call<string>('getblock', blockHash, 0);
    const { header, transactions } = parseBlock(Uint8Array.from(Buffer.from(hex, 'hex')));
    return { height, hash: blockHash, header, transactions };
  }

  /** Whether the output exists and is unspent (in the chain; with `includeMempool`, not spent there either). */
  async isUnspent(txid: Uint8Array, index: number, includeMempool: boolean): Promise<boolean> {
    const out = await this.rpc.call<unknown>('gettxout', toHex(reverseBytes(txid)), index, includeMempool);
    return out !== null && out !== undefined;
  }

  /** The output in the chain (not looking at the mempool), or undefined when it is spent or never was. */
  async chainOutput(txid: Uint8Array, index: number): Promise<ChainOutput | undefined> {
    const out = await this.rpc.call<{
      value: number;
      confirmations: number;
      coinbase?: boolean;
      scriptPubKey: { hex: string };
    } | null>('gettxout', toHex(reverseBytes(txid)), index, false);
    if (!out) return undefined;
    return {
      value: BigInt(Math.round(out.value * 1e8)),
      script: fromHex(out.scriptPubKey.hex),
      confirmations: out.confirmations,
      coinbase: out.coinbase === true,
    };
  }

  /**
   * Whether the node's mempool would take the transaction (Bitcoin Core's and litecoind's
   * `testmempoolaccept`), or undefined when the node has no such call (bcoin).
   */
  async testMempoolAccept(raw: Uint8Array): Promise<MempoolVerdict | undefined> {
    let answer: { allowed: boolean; 'reject-reason'?: string }[];
    try {
      answer = await this.rpc.call('testmempoolaccept', [toHex(raw)]);
    } catch (e) {
      if (e instanceof RpcError && e.code === METHOD_NOT_FOUND) return undefined;
      throw e;
    }
    const verdict = answer[0];
    if (verdict?.allowed) return { allowed: true };
    return { allowed: false, reason: verdict?.['reject-reason'] ?? 'refused without a reason' };
  }

  async chainInfo(): Promise<ChainInfo> {
    const info = await this.rpc.call<{ pruned?: boolean; pruneheight?: number | null }>('getblockchaininfo');
    return { pruned: info.pruned === true, pruneHeight: info.pruneheight ?? 0 };
  }

  /**
   * The unspent outputs paying `scripts`, from the node's UTXO set at its tip (`scantxoutset`: Bitcoin
   * Core 0.17 and later, litecoind; not bcoin). Each is looked up with `gettxout` for its coinbase flag;
   * one spent in the meantime is left out.
   */
  async unspentOutputs(scripts: Uint8Array[]): Promise<UtxoSnapshot> {
    const answer = await this.rpc.callWithin<ScanTxOutSetAnswer>(
      UTXO_SCAN_TIMEOUT_MS,
      'scantxoutset',
      'start',
      scripts.map((script) => `raw(${toHex(script)})`),
    );
    const outputs: UnspentOutput[] = [];
    for (const u of answer.unspents) {
      const out = await this.rpc.call<{ coinbase?: boolean } | null>('gettxout', u.txid, u.vout, false);
      if (!out) continue;
      outputs.push({
        txid: reverseBytes(fromHex(u.txid)),
        index: u.vout,
        value: BigInt(Math.round(u.amount * 1e8)),
        script: fromHex(u.scriptPubKey),
        height: u.height,
        coinbase: out.coinbase === true,
      });
    }
    return { height: answer.height, hash: answer.bestblock, outputs };
  }

  /** Sends a raw transaction. bcoin answers with the txid even when its mempool refuses the tx. */
  sendRawTransaction(raw: Uint8Array): Promise<string> {
    return this.rpc.call<string>('sendrawtransaction', toHex(raw));
  }

  async inMempool(txid: Uint8Array): Promise<boolean> {
    try {
      await this.rpc.call('getmempoolentry', toHex(reverseBytes(txid)));
      return true;
    } catch (e) {
      if (e instanceof RpcError && e.code !== undefined) return false;
      throw e;
    }
  }

  /** The node's fee estimate in sat/vB, or undefined when it has none (always on regtest). */
  async estimateFeeRate(target: number): Promise<number | undefined> {
    try {
      const answer = await this.rpc.call<{ feerate?: number }>('estimatesmartfee', target);
      return answer.feerate && answer.feerate > 0 ? (answer.feerate * 1e8) / 1000 : undefined;
    } catch (e) {
      if (e instanceof RpcError && e.code !== undefined) return undefined;
      throw e;
    }
  }
}
