/**
 * What a mirror without a node trusts about a Bitcoin chain: the checkpoints compiled into otsd (the
 * hash of the last block of every retarget period, from Electrum's lists) and the network's
 * proof-of-work rules. Networks without a proof-of-work rule a header can show (regtest, whose work
 * is trivial; Litecoin's, which is scrypt) have none: only a node can check them.
 * @module
 */
import { fromHex, reverseBytes, toHex } from '../../ots/index.js';
import { RETARGET_INTERVAL, targetFromBits } from '../proof-of-work.js';
import { MAIN_CHECKPOINTS } from './main.js';
import { SIGNET_CHECKPOINTS } from './signet.js';
import { TEST_CHECKPOINTS } from './test.js';

/** A block the mirror trusts: its height and hash, and (mainnet) the nBits of the block after it. */
export interface Anchor {
  height: number;
  /** Internal byte order (as in a header's previous-block field), hex. */
  hash: string;
  bitsAfter?: number;
}

export interface ChainRules {
  network: string;
  /** The easiest target a header may claim. */
  powLimit: bigint;
  /**
   * Mainnet: nBits stays the same through a retarget period and changes only by the retarget rule.
   * Testnet3 allows minimum-difficulty blocks at any time and signet's periods are not in Electrum's
   * lists: there only each header's own work is checked.
   */
  exactBits: boolean;
  /** Ascending by height. */
  checkpoints: readonly Anchor[];
}

/** From the display-order hash (as explorers print it). */
export function anchor(height: number, displayHash: string, bitsAfter?: number): Anchor {
  return {
    height,
    hash: toHex(reverseBytes(fromHex(displayHash))),
    ...(bitsAfter !== undefined && { bitsAfter }),
  };
}

function fromElectrum(entries: readonly string[]): Anchor[] {
  return entries.map((entry, k) => {
    const [hash, bits] = entry.split(' ') as [string, string | undefined];
    return anchor(
      RETARGET_INTERVAL * k + RETARGET_INTERVAL - 1,
      hash,
      bits ? Number.parseInt(bits, 16) : undefined,
    );
  });
}

const tables = new Map<string, ChainRules>();

/** The compiled-in rules of `network`, or undefined when a header alone proves nothing there. */
export function chainRules(network: string): ChainRules | undefined {
  const known = tables.get(network);
  if (known) return known;
  const table =
    network === 'main'
      ? { powLimit: targetFromBits(0x1d00ffff), exactBits: true, entries: MAIN_CHECKPOINTS }
      : network === 'test'
        ? { powLimit: targetFromBits(0x1d00ffff), exactBits: false, entries: TEST_CHECKPOINTS }
        : network === 'signet'
          ? { powLimit: targetFromBits(0x1e0377ae), exactBits: false, entries: SIGNET_CHECKPOINTS }
          : undefined;
  if (!table) return undefined;
  const rules = {
    network,
    powLimit: table.powLimit,
    exactBits: table.exactBits,
    checkpoints: fromElectrum(table.entries),
  };
  tables.set(network, rules);
  return rules;
}
