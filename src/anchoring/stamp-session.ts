/**
 * The calendar's own stamping transaction as a state machine. One transaction is in flight at a time,
 * in one or more versions (each a BIP125 replacement of the last, all spending the same input):
 *
 *   idle ──start──► in flight ──a version in a block──► mined ──deep enough: proof written──► idle
 *                   │  ▲   (new block: bump, when wanted;  │
 *                   │  │    lost from the mempool: resend)  │
 *                   │  └─────── its block left the chain ──┘
 *                   └── its input spent by a transaction of someone else's: abandoned ──► idle
 *
 * `next` reads the chain and says what to do (an effect); the stamper does it (build, journal and
 * broadcast; write the proof) and reports back with `sent`, `broadcast`, `proved` or `abandoned`. The
 * session itself does no I/O, so every transition is tested without a node.
 * @module
 */
import type { BitcoinTransaction } from '../ots/index.js';
import type { BlockRef } from './scan-state.js';

export interface Version {
  /** Its stamp record's number. */
  record: number;
  /** The commitment records it covers, ascending. */
  commitments: number[];
  /** Their merkle tip: what the OP_RETURN holds. */
  tip: Uint8Array;
  tx: BitcoinTransaction;
  raw: Uint8Array;
  fee: number;
  feeRate: number;
  /** When it was last sent to the node (undefined: not since start). */
  lastBroadcastAt?: number;
}

export type StampState =
  | { kind: 'idle' }
  | { kind: 'in-flight'; versions: readonly Version[] }
  | { kind: 'mined'; versions: readonly Version[]; mined: Version; at: BlockRef };

export type Effect =
  | { kind: 'none' }
  /** Build a first version over everything pending, journal it, broadcast it. */
  | { kind: 'start' }
  /** Replace `latest` at a higher fee rate, covering everything pending now. */
  | { kind: 'bump'; latest: Version }
  /** Send `latest` again if the node's mempool has lost it. */
  | { kind: 'rebroadcast'; latest: Version }
  /** `version` is deep enough: write the proof from its block. */
  | { kind: 'prove'; version: Version; at: BlockRef };

export interface ChainView {
  /** The last block read. */
  height: number;
  /** Blocks added by the last pass over the chain. */
  newBlocks: number;
  minedAt(txid: Uint8Array): BlockRef | undefined;
}

export interface SessionRules {
  minConfirmations: number;
  /** A version missing from the mempool is sent again at most this often. */
  rebroadcastMs: number;
}

export class StampSession {
  private readonly rules: SessionRules;
  private current: StampState = { kind: 'idle' };

  constructor(rules: SessionRules) {
    this.rules = rules;
  }

  get state(): StampState {
    return this.current;
  }

  /** Every version of the transaction in flight, oldest first (none when idle). */
  get versions(): readonly Version[] {
    return this.current.kind === 'idle' ? [] : this.current.versions;
  }

  /** The versions of a transaction in flight, read back from the journal after a restart. */
  resume(versions: readonly Version[]): void {
    this.current = versions.length === 0 ? { kind: 'idle' } : { kind: 'in-flight', versions: [...versions] };
  }

  /**
   * Follows the chain (a version in a block makes the transaction mined; its block leaving the chain
   * makes it in flight again) and says what to do. `startDue`: a transaction is due over what is
   * pending; `bumpWanted`: commitments are pending that no other source is proving, so a new block
   * without the transaction calls for a replacement (one whose commitments another source proved is
   * left as it is: it may still confirm, at no further cost).
   */
  next(chain: ChainView, now: number, startDue: boolean, bumpWanted = true): Effect {
    if (this.current.kind === 'idle') return startDue ? { kind: 'start' } : { kind: 'none' };
    const { versions } = this.current;
    for (const version of versions) {
      const at = chain.minedAt(version.tx.txid);
      if (!at) continue;
      this.current = { kind: 'mined', versions, mined: version, at };
      return chain.height - at.height + 1 >= this.rules.minConfirmations
        ? { kind: 'prove', version, at }
        : { kind: 'none' };
    }
    this.current = { kind: 'in-flight', versions };
    const latest = versions.at(-1) as Version;
    if (chain.newBlocks > 0 && bumpWanted) return { kind: 'bump', latest };
    const sentAt = latest.lastBroadcastAt;
    if (sentAt === undefined || now - sentAt > this.rules.rebroadcastMs)
      return { kind: 'rebroadcast', latest };
    return { kind: 'none' };
  }

  /** A new version is journaled (and about to be broadcast): it is the latest in flight. */
  sent(version: Version): void {
    this.current = { kind: 'in-flight', versions: [...this.versions, version] };
  }

  broadcast(version: Version, now: number): void {
    version.lastBroadcastAt = now;
  }

  /** The proof of the mined version is written: the transaction is done. */
  proved(): Version {
    if (this.current.kind !== 'mined') throw new Error(`stamp session: proved while ${this.current.kind}`);
    const { mined } = this.current;
    this.current = { kind: 'idle' };
    return mined;
  }

  /** The input is spent by a transaction that is none of ours: nothing in flight can confirm. */
  abandoned(): void {
    this.current = { kind: 'idle' };
  }

  /** The version in a block, while its block is in the best chain. */
  get mined(): { version: Version; at: BlockRef } | undefined {
    return this.current.kind === 'mined' ? { version: this.current.mined, at: this.current.at } : undefined;
  }
}
