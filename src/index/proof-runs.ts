/**
 * The first proof of most commitments, as runs: a proof covers consecutive commitment records at
 * consecutive leaves, none proven before, so one entry (the run's first record -> the proof, the
 * leaf of that record, how many records) stands for a run of them, where an entry per commitment
 * cost a write each (some 1 us, a seventh of a proven calendar's rebuild). Runs are added in record
 * order past every record proven before (CommitmentsView keeps the rest, apart), so they never
 * overlap and are written in LMDB's append mode.
 * @module
 */
import type { ProofReference } from './commitments-view.js';
import type { IndexDatabase } from './index-view.js';
import { readU64, u64 } from './keys.js';

/** A run's value: the proof's record number (8 bytes), the leaf of its first record (4), its records (4). */
const RUN_BYTES = 16;

/** Records `first` .. `first + count - 1`, at leaves `leaf` .. `leaf + count - 1` of proof record `proof`. */
export interface ProofRun {
  first: number;
  count: number;
  proof: number;
  leaf: number;
}

export class ProofRuns {
  private readonly runs: IndexDatabase;
  /** The run being gathered, written when the next does not extend it (or at flush). */
  private open: ProofRun | undefined;
  private readonly scratch = Buffer.allocUnsafe(RUN_BYTES);

  constructor(runs: IndexDatabase) {
    this.runs = runs;
  }

  /** Commitment record `n`, at leaf `leaf` of proof `proof`, is proven for the first time. */
  add(n: number, proof: number, leaf: number): void {
    const open = this.open;
    if (open && open.proof === proof && open.first + open.count === n && open.leaf + open.count === leaf) {
      open.count++;
      return;
    }
    this.flush();
    this.open = { first: n, count: 1, proof, leaf };
  }

  /** Writes the run being gathered (in the index's write transaction). */
  flush(): void {
    const open = this.open;
    if (!open) return;
    this.open = undefined;
    u64(open.proof).copy(this.scratch, 0);
    this.scratch.writeUInt32BE(open.leaf, 8);
    this.scratch.writeUInt32BE(open.count, 12);
    this.runs.putSync(u64(open.first), this.scratch, { append: true });
  }

  /** Forgets the run being gathered: its transaction did not commit. */
  forget(): void {
    this.open = undefined;
  }

  /** The proof whose run holds record `n`, and its leaf there. */
  find(n: number): ProofReference | undefined {
    const run = this.holding(n);
    return run && { proof: run.proof, leaf: run.leaf + (n - run.first) };
  }

  /** The run that holds record `n`. */
  holding(n: number): ProofRun | undefined {
    const [run] = this.from(n, 1, true);
    return run && n < run.first + run.count ? run : undefined;
  }

  /** The runs from the one starting at record `start` on (or back, `reverse`), at most `limit`. */
  from(start: number, limit: number, reverse = false): ProofRun[] {
    return [...this.runs.getRange({ start: u64(start), reverse, limit })].map(({ key, value }) => ({
      first: readU64(key),
      count: value.readUInt32BE(12),
      proof: readU64(value, 0),
      leaf: value.readUInt32BE(8),
    }));
  }

  /** The last record a run holds (-1 for none), the gathered one included. */
  lastRecord(): number {
    if (this.open) return this.open.first + this.open.count - 1;
    for (const { key, value } of this.runs.getRange({ reverse: true, limit: 1 }))
      return readU64(key) + value.readUInt32BE(12) - 1;
    return -1;
  }
}
