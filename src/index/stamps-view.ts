/**
 * Stamping transactions: the stamp records of transactions not ended yet (the versions in flight,
 * which a restarted stamper reads back), and the fee of every version by the height it was built at,
 * for the daily spend cap.
 *
 * A transaction is its versions: the stamp records spending one input. It ends with a stamp-end record
 * naming one of them (mined, or abandoned). Journals written before stamp-end records existed end a
 * transaction with the proof through it; so until the index has applied a stamp end, a proof whose
 * tree holds the txid of a version ends that transaction (such a proof exists only once that version
 * is mined, so the rule can end no other). Proofs from other sources (a master's transaction) end no
 * stamp either way.
 * @module
 */
import type { StoredRecord } from '../journal/journal.js';
import type { StampPayload } from '../journal/stamp-payload.js';
import { equalBytes, parseTransaction, type Timestamp } from '../ots/index.js';
import type { IndexDatabase, IndexedRecord, IndexView, OpenDatabase } from './index-view.js';
import { readU64, u32, u64 } from './keys.js';

/** The one key of `ends`: set once a stamp-end record has been applied. */
const EXPLICIT_ENDS = Buffer.from('explicit');
const EMPTY = Buffer.alloc(0);
/** An open stamp's value: segment, offset, the outpoint it spends (txid, index), its txid. */
const INPUT_AT = 16;
const INPUT_BYTES = 36;
const TXID_AT = INPUT_AT + INPUT_BYTES;

export class StampsView implements IndexView {
  /** stamp record number -> its segment, offset, the outpoint it spends and its txid */
  private readonly inFlight: IndexDatabase;
  /** (nLockTime, stamp record number) -> fee, and the outpoint spent */
  private readonly fees: IndexDatabase;
  /** whether the journal ends its stamps with stamp-end records */
  private readonly ends: IndexDatabase;

  constructor(open: OpenDatabase) {
    this.inFlight = open('stamps');
    this.fees = open('stamp-fees');
    this.ends = open('stamp-ends');
  }

  apply(entry: IndexedRecord): void {
    if (entry.kind === 'stamp') this.applyStamp(entry.record, entry.stamp);
    else if (entry.kind === 'stamp-end') {
      this.ends.put(EXPLICIT_ENDS, EMPTY);
      const named = this.inFlight.get(u64(entry.end.stamp));
      if (named) this.endTransaction(named.subarray(INPUT_AT, TXID_AT));
    } else if (entry.kind === 'proof' && this.ends.get(EXPLICIT_ENDS) === undefined) {
      const messages = [...treeMessages(entry.proof.tip)];
      for (const { value } of this.inFlight.getRange()) {
        const txid = value.subarray(TXID_AT);
        if (messages.some((m) => equalBytes(m, txid))) {
          this.endTransaction(value.subarray(INPUT_AT, TXID_AT));
          return;
        }
      }
    }
  }

  private applyStamp(record: StoredRecord, stamp: StampPayload): void {
    const tx = parseTransaction(stamp.rawTx);
    const input = tx.inputs[0];
    const spent = input ? Buffer.concat([input.prevTxid, u32(input.prevIndex)]) : Buffer.alloc(INPUT_BYTES);
    this.inFlight.put(
      u64(record.number),
      Buffer.concat([u64(record.segment), u64(record.offset), spent, tx.txid]),
    );
    // by the height the transaction was built at (its nLockTime), for fees spent per window of blocks
    if (input) {
      this.fees.put(
        Buffer.concat([u32(tx.lockTime), u64(record.number)]),
        Buffer.concat([u64(stamp.fee), spent]),
      );
    }
  }

  /** Removes every open version spending `input`. */
  private endTransaction(input: Uint8Array): void {
    const spending = input.slice();
    for (const { key, value } of [...this.inFlight.getRange()]) {
      if (equalBytes(value.subarray(INPUT_AT, TXID_AT), spending)) this.inFlight.remove(key);
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

  /**
   * Whether record `number` is a stamp record: one in flight, or one whose fee is kept (every stamp
   * record spends an input). The fees are scanned: a stamp end, the one record that asks, comes once
   * per transaction.
   */
  isStamp(number: number): boolean {
    if (this.inFlight.get(u64(number)) !== undefined) return true;
    for (const { key } of this.fees.getRange()) if (readU64(key, 4) === number) return true;
    return false;
  }

  /** Stamp records of transactions not ended yet: the versions in flight, oldest first. */
  openStamps(): { number: number; segment: number; offset: number }[] {
    return [...this.inFlight.getRange()].map(({ key, value }) => ({
      number: readU64(key),
      segment: readU64(value, 0),
      offset: readU64(value, 8),
    }));
  }
}

/** Every message in a timestamp tree: a proof through a transaction holds its txid (internal order). */
function* treeMessages(node: Timestamp): Generator<Uint8Array> {
  yield node.msg;
  for (const [, child] of node.ops) yield* treeMessages(child);
}
