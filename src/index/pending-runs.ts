/**
 * The pending set (commitment records no proof covers yet) as runs of consecutive record numbers:
 * first record -> count. Commitments arrive in record order, so a new one extends the last run (kept
 * in memory until the transaction ends) or starts one after every other (appended); a proof removes
 * its records from the runs it overlaps, splitting one where it covers only the middle.
 * @module
 */
import type { IndexDatabase } from './index-view.js';
import { readU64, u64 } from './keys.js';

interface Run {
  first: number;
  count: number;
}

export class PendingRuns {
  private readonly runs: IndexDatabase;
  /**
   * The last run as this transaction leaves it, and its count in the database (undefined for a run not
   * written yet); null when not read yet.
   */
  private tail: (Run & { stored: number | undefined }) | undefined | null = null;
  /** Number of pending records, counted once when first asked. */
  private counted: number | undefined;

  constructor(runs: IndexDatabase) {
    this.runs = runs;
  }

  /** Record `n`, a commitment newer than every record here, is pending. */
  add(n: number): void {
    if (this.tail === null) {
      const last = this.lastStored();
      this.tail = last && { ...last, stored: last.count };
    }
    if (this.counted !== undefined) this.counted++;
    if (this.tail && this.tail.first + this.tail.count === n) {
      this.tail.count++;
      return;
    }
    this.flush();
    this.tail = { first: n, count: 1, stored: undefined };
  }

  /** Writes the last run, in the transaction that changed it (a new one appended after every other). */
  flush(): void {
    if (!this.tail || this.tail.stored === this.tail.count) return;
    this.runs.putSync(u64(this.tail.first), u64(this.tail.count), { append: this.tail.stored === undefined });
    this.tail.stored = this.tail.count;
  }

  /** Forgets what is kept in memory: after a transaction that did not commit, or the database emptied. */
  forget(): void {
    this.tail = null;
    this.counted = undefined;
  }

  /** Records `first` .. `first + count - 1` are proven: none of them is pending any more. */
  remove(first: number, count: number): void {
    this.flush();
    this.tail = null;
    const end = first + count;
    const before = this.runAtOrBefore(first);
    const overlapping = [
      ...(before && before.first + before.count > first ? [before] : []),
      ...this.runsFrom(first + (before?.first === first ? 1 : 0), end),
    ];
    for (const run of overlapping) {
      const runEnd = run.first + run.count;
      this.runs.remove(u64(run.first));
      if (run.first < first) this.runs.put(u64(run.first), u64(first - run.first));
      if (runEnd > end) this.runs.put(u64(end), u64(runEnd - end));
      if (this.counted !== undefined) this.counted -= Math.min(runEnd, end) - Math.max(run.first, first);
    }
  }

  has(n: number): boolean {
    if (this.tail && n >= this.tail.first) return n < this.tail.first + this.tail.count;
    const run = this.runAtOrBefore(n);
    return run !== undefined && n < run.first + run.count;
  }

  get count(): number {
    if (this.counted === undefined) {
      let sum = 0;
      for (const { count } of this.all()) sum += count;
      this.counted = sum;
    }
    return this.counted;
  }

  /** Record numbers of pending commitments, oldest first. */
  *records(): Generator<number> {
    for (const { first, count } of this.all()) for (let n = first; n < first + count; n++) yield n;
  }

  /** Every run, the last one as this transaction leaves it. */
  private *all(): Generator<Run> {
    const tail = this.tail;
    for (const { key, value } of this.runs.getRange()) {
      const first = readU64(key);
      if (first !== tail?.first) yield { first, count: readU64(value) };
    }
    if (tail) yield { first: tail.first, count: tail.count };
  }

  private runAtOrBefore(n: number): Run | undefined {
    for (const { key, value } of this.runs.getRange({ start: u64(n), reverse: true, limit: 1 }))
      return { first: readU64(key), count: readU64(value) };
    return undefined;
  }

  /** Runs starting in [from, end). */
  private runsFrom(from: number, end: number): Run[] {
    return [...this.runs.getRange({ start: u64(from), end: u64(end) })].map(({ key, value }) => ({
      first: readU64(key),
      count: readU64(value),
    }));
  }

  private lastStored(): Run | undefined {
    for (const { key, value } of this.runs.getRange({ reverse: true, limit: 1 }))
      return { first: readU64(key), count: readU64(value) };
    return undefined;
  }
}
