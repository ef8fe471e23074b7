/**
 * The calendar key's coins: the outputs paying its script that the chain follower has found, which
 * of them can be spent now (a coinbase only once mature), and the balance.
 * @module
 */
import type { UnspentOutput } from '../bitcoin/node-client.js';
import { equalBytes } from '../ots/index.js';
import type { AnchorNode } from './anchor-node.js';

/** A coinbase output can be spent once it has this many confirmations. */
export const COINBASE_MATURITY = 100;

/** Whether `output` can be spent in the block after `tipHeight`. */
export function isMature(output: Pick<UnspentOutput, 'height' | 'coinbase'>, tipHeight: number): boolean {
  return !output.coinbase || tipHeight - output.height + 1 >= COINBASE_MATURITY;
}

export class Coins {
  private readonly chain: { outputs(): UnspentOutput[]; readonly height: number };
  private readonly script: Uint8Array;
  private readonly node: Pick<AnchorNode, 'isUnspent'>;

  constructor(
    chain: { outputs(): UnspentOutput[]; readonly height: number },
    script: Uint8Array,
    node: Pick<AnchorNode, 'isUnspent'>,
  ) {
    this.chain = chain;
    this.script = script;
    this.node = node;
  }

  private mine(): UnspentOutput[] {
    return this.chain.outputs().filter((o) => equalBytes(o.script, this.script));
  }

  /** Satoshis in the key's outputs in the chain, mature or not. */
  balance(): bigint {
    return this.mine().reduce((sum, o) => sum + o.value, 0n);
  }

  /** Satoshis in the key's outputs that can be spent in the next block. */
  matureBalance(): bigint {
    const tip = this.chain.height;
    return this.mine()
      .filter((o) => isMature(o, tip))
      .reduce((sum, o) => sum + o.value, 0n);
  }

  /**
   * The mature outputs, largest first, each checked with the node as it is reached: one spent in the
   * mempool (or by a block the follower has not read yet) is passed over this time.
   */
  async *spendable(): AsyncGenerator<UnspentOutput> {
    const tip = this.chain.height;
    const mature = this.mine()
      .filter((o) => isMature(o, tip))
      .sort((a, b) => (a.value === b.value ? 0 : a.value < b.value ? 1 : -1));
    for (const output of mature) {
      if (await this.node.isUnspent(output.txid, output.index, true)) yield output;
    }
  }
}
