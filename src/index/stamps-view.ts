/**
 * Stamping transactions: the stamp records written since the last proof of one (the versions in
 * flight, which a restarted stamper reads back), and the fee of every version by the height it was
 * built at, for the daily spend cap.
 * @module
 */
import type { StoredRecord } from '../journal/journal.js';
import { writeRanges } from '../journal/ranges.js';
import type { StampPayload } from '../journal/stamp-payload.js';
import { equalBytes, parseTransaction, sha256, Writer } from '../ots/index.js';
import type { IndexDatabase, IndexedRecord, IndexView, OpenDatabase } from './index-view.js';
import { readU64, u32, u64 } from './keys.js';

export class StampsView implements IndexView {
  /** stamp record number -> its segment, offset and the digest of the commitments it covers */
  private readonly inFlight: IndexDatabase;
  /** (nLockTime, stamp record number) -> fee, and the outpoint spent */
  private readonly fees: IndexDatabase;

  constructor(open: OpenDatabase) {
    this.inFlight = open('stamps');
    this.fees = open('stamp-fees');
  }

  apply(entry: IndexedRecord): void {
    if (entry.kind === 'stamp') this.applyStamp(entry.record, entry.stamp);
    else if (entry.kind === 'proof') {
      // the proof of a stamping transaction's commitments closes every version of that transaction
      const covered = rangesDigest(entry.proof.commitments);
      const open = [...this.inFlight.getRange()];
      if (open.some(({ value }) => equalBytes(value.subarray(16, 48), covered))) {
        for (const { key } of open) this.inFlight.remove(key);
      }
    }
  }

  private applyStamp(record: StoredRecord, stamp: StampPayload): void {
    this.inFlight.put(
      u64(record.number),
      Buffer.concat([u64(record.segment), u64(record.offset), rangesDigest(stamp.commitments)]),
    );
    // by the height the transaction was built at (its nLockTime), for fees spent per window of blocks
    const tx = parseTransaction(stamp.rawTx);
    const input = tx.inputs[0];
    if (input) {
      this.fees.put(
        Buffer.concat([u32(tx.lockTime), u64(record.number)]),
        Buffer.concat([u64(stamp.fee), Buffer.from(input.prevTxid), u32(input.prevIndex)]),
      );
    }
  }

  /**
   * Fees committed to by stamping transactions built at `fromHeight` or later: for each spent input
   * (one transaction and its replacements), the largest fee among its versions.
   */
  stampFeesSince(fromHeight: number): number {
    const byInput = new Map<string, number>();
    for (const { value } of this.fees.getRange({ start: u32(Math.max(0, fromHeight)) })) {
      const input = value.subarray(8).toString('hex');
      byInput.set(input, Math.max(byInput.get(input) ?? 0, readU64(value, 0)));
    }
    return [...byInput.values()].reduce((sum, fee) => sum + fee, 0);
  }

  /** The height the newest stamping transaction was built at (its nLockTime), if there is one. */
  lastStampHeight(): number | undefined {
    for (const { key } of this.fees.getRange({ reverse: true, limit: 1 })) return key.readUInt32BE(0);
    return undefined;
  }

  /** Stamp records written since the last proof of a stamping transaction: the versions in flight. */
  openStamps(): { number: number; segment: number; offset: number }[] {
    return [...this.inFlight.getRange()].map(({ key, value }) => ({
      number: readU64(key),
      segment: readU64(value, 0),
      offset: readU64(value, 8),
    }));
  }
}

function rangesDigest(records: readonly number[]): Buffer {
  const w = new Writer();
  writeRanges(w, records);
  return Buffer.from(sha256(w.toBytes()));
}
