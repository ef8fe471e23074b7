/**
 * What a mirror without a node trusts about the Bitcoin chain: the mainnet checkpoints compiled into
 * otsd (the hash of the last block of every retarget period and the nBits of the next, from
 * Electrum's list) and mainnet's proof-of-work rules. Other networks have none: there a header proves
 * too little for a check without a node (regtest's work is trivial; past their last checkpoint a
 * testnet3 header takes seconds to forge by its 20-minute rule, a signet one about 2^22 hashes, as its
 * block signature is not in the header; Litecoin's work is scrypt).
 * @module
 */
import { fromHex, reverseBytes, toHex } from '../../ots/index.js';
import { RETARGET_INTERVAL, targetFromBits } from '../proof-of-work.js';
import { MAIN_CHECKPOINTS } from './main.js';

/** A block the mirror trusts: its height and hash, and the nBits of the block after it. */
export interface Anchor {
  height: number;
  /** Internal byte order (as in a header's previous-block field), hex. */
  hash: string;
  bitsAfter: number;
}

export interface ChainRules {
  network: string;
  /** The easiest target a header may claim. */
  powLimit: bigint;
  /** Ascending by height. */
  checkpoints: readonly Anchor[];
}

/** From the display-order hash (as explorers print it). */
export function anchor(height: number, displayHash: string, bitsAfter: number): Anchor {
  return { height, hash: toHex(reverseBytes(fromHex(displayHash))), bitsAfter };
}

let main: ChainRules | undefined;

/** The compiled-in rules of `network`, or undefined when a header alone proves too little there. */
export function chainRules(network: string): ChainRules | undefined {
  if (network !== 'main') return undefined;
  main ??= {
    network,
    powLimit: targetFromBits(0x1d00ffff),
    checkpoints: MAIN_CHECKPOINTS.map((entry, k) => {
      const [hash, bits] = entry.split(' ') as [string, string];
      return anchor(RETARGET_INTERVAL * k + RETARGET_INTERVAL - 1, hash, Number.parseInt(bits, 16));
    }),
  };
  return main;
}
