/**
 * Log lines for expected, repeated events (refusals under load, rounds refused while the disk is
 * full): the first of a kind in an interval is logged at once, the rest are counted and summed up in
 * one line when the interval ends. A flood costs a few lines a minute, not a line each.
 * @module
 */

/** Short enough to follow an incident as it happens, long enough that a flood costs a few lines. */
export const DEFAULT_SUMMARY_INTERVAL_MS = 10_000;

/** Writes the summary line of `count` events of one kind over `seconds`. */
export type SummaryLine = (count: number, seconds: number) => void;

interface KindState {
  summary: SummaryLine;
  lastLineAt: number;
  /** Events of this kind since its last line. */
  unlogged: number;
  timer: NodeJS.Timeout | undefined;
}

export class SummarizedLines {
  private readonly intervalMs: number;
  private readonly kinds = new Map<string, KindState>();

  constructor(intervalMs = DEFAULT_SUMMARY_INTERVAL_MS) {
    this.intervalMs = intervalMs;
  }

  /**
   * An event of `kind`: `line` is called when it is the first of its kind in an interval; otherwise
   * it is counted, and `summary` (the one given with the first) writes the count when the interval ends.
   */
  record(kind: string, line: () => void, summary: SummaryLine): void {
    const now = Date.now();
    const state = this.kinds.get(kind);
    // a summary whose timer is late (a busy event loop) is logged before the interval restarts
    if (state?.unlogged && now - state.lastLineAt >= this.intervalMs) this.summarize(state);
    if (state && now - state.lastLineAt < this.intervalMs) {
      state.unlogged++;
      state.timer ??= setTimeout(
        () => this.summarize(state),
        state.lastLineAt + this.intervalMs - now,
      ).unref();
      return;
    }
    this.kinds.set(kind, { summary, lastLineAt: now, unlogged: 0, timer: undefined });
    line();
  }

  /** Logs the counts not logged yet (on close). */
  flush(): void {
    for (const state of this.kinds.values()) if (state.unlogged > 0) this.summarize(state);
  }

  private summarize(state: KindState): void {
    clearTimeout(state.timer);
    const now = Date.now();
    state.summary(state.unlogged, Math.round((now - state.lastLineAt) / 100) / 10);
    Object.assign(state, { lastLineAt: now, unlogged: 0, timer: undefined });
  }
}
