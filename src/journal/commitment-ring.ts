/**
 * The commitments of the last records read, by record number, for a thread that builds proofs' trees
 * over the commitments it read shortly before (the index's read-ahead, a mirror's chunk checks): each
 * copied into a ring of slots (a view would keep its whole segment's or chunk's bytes), a slot holding
 * the commitment of the record whose number it also holds.
 * @module
 */
import { MAX_PAYLOAD_BYTES, RecordKind } from './record.js';

const SLOT_BYTES = MAX_PAYLOAD_BYTES[RecordKind.Commitment] as number;

export class CommitmentRing {
  private readonly numbers: Float64Array;
  private readonly lengths: Uint8Array;
  private readonly bytes: Uint8Array;

  /** Keeps the commitments among the last `records` records kept. */
  constructor(private readonly records: number) {
    this.numbers = new Float64Array(records).fill(-1);
    this.lengths = new Uint8Array(records);
    this.bytes = new Uint8Array(records * SLOT_BYTES);
  }

  /** Record `number` holds `commitment`. */
  keep(number: number, commitment: Uint8Array): void {
    // a longer one is no commitment a calendar takes: never kept, what covers it checked elsewhere
    if (commitment.byteLength > SLOT_BYTES) return;
    const slot = number % this.records;
    this.numbers[slot] = number;
    this.lengths[slot] = commitment.byteLength;
    this.bytes.set(commitment, slot * SLOT_BYTES);
  }

  /** The commitment of record `number`, if it is one kept and not overwritten since. */
  at(number: number): Uint8Array | undefined {
    const slot = number % this.records;
    if (this.numbers[slot] !== number) return undefined;
    return this.bytes.subarray(slot * SLOT_BYTES, slot * SLOT_BYTES + (this.lengths[slot] as number));
  }
}
