/**
 * What anchoring asks of the Bitcoin node, as narrow interfaces: `NodeClient` has all of it, and a part
 * that needs less says so in its type.
 * @module
 */
import type { Block, ChainInfo, ChainOutput, MempoolVerdict, UtxoSnapshot } from '../bitcoin/node-client.js';

/** What following the chain reads. */
export interface ChainNode {
  blockCount(): Promise<number>;
  blockHash(height: number): Promise<string>;
  block(height: number, hash: string): Promise<Block>;
  chainInfo(): Promise<ChainInfo>;
  /** The UTXO set's outputs paying `scripts`; pruned nodes only (not every node has it). */
  unspentOutputs(scripts: Uint8Array[]): Promise<UtxoSnapshot>;
}

/** What anchoring needs besides following the chain: output checks, the mempool, fee estimates, headers. */
export interface AnchorNode extends ChainNode {
  /** Whether the output exists and is unspent (in the chain; with `includeMempool`, not spent there either). */
  isUnspent(txid: Uint8Array, index: number, includeMempool: boolean): Promise<boolean>;
  sendRawTransaction(raw: Uint8Array): Promise<string>;
  inMempool(txid: Uint8Array): Promise<boolean>;
  /** sat/vB, or undefined when the node has no estimate. */
  estimateFeeRate(target: number): Promise<number | undefined>;
  /** The 80-byte header of the block at `height` in the best chain, as hex. */
  blockHeaderHex(height: number): Promise<string>;
  /** The output in the chain (the mempool aside), or undefined when spent or unknown. */
  chainOutput(txid: Uint8Array, index: number): Promise<ChainOutput | undefined>;
  /** Whether the mempool would take a transaction; undefined when the node cannot tell without relaying it. */
  testMempoolAccept(raw: Uint8Array): Promise<MempoolVerdict | undefined>;
}
