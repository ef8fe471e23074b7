/**
 * The chain follower's saved scan: its position, the outputs it found and its undo data
 * (src/anchoring/scan-state.ts encodes them). It is derived from the chain, not the journal, and kept
 * in the index because the index is the node's disposable state: cleared with the rest, after which
 * the follower scans the chain again.
 * @module
 */
import type { Database } from 'lmdb';

const STATE_KEY = Buffer.from('state');

export class ChainScanStore {
  private readonly db: Database<Buffer, Buffer>;

  /** `db`: the index's `chain-scan` sub-database. */
  constructor(db: Database<Buffer, Buffer>) {
    this.db = db;
  }

  load(): Uint8Array | undefined {
    const value = this.db.get(STATE_KEY);
    return value && new Uint8Array(value);
  }

  async save(state: Uint8Array): Promise<void> {
    await this.db.put(STATE_KEY, Buffer.from(state));
  }
}
