/**
 * The log lines and counts of HTTP errors. Every error is counted by its code (for metrics). An
 * unexpected one (a bug) is logged every time, with its stack. The expected ones (refusals under load,
 * bad input, lookups of unknown commitments) are logged at most once per interval per code, with how
 * many there were since the last line and no stack: a flood of refusals costs a few lines a minute,
 * not a line each (a line with a stack per refusal wrote 3.6 MB/s of log under a flood).
 * @module
 */
import type { HttpErrorDefinition } from './errors.js';

/** What a log line says of the request; absent for requests Node's parser refused. */
export interface ErrorContext {
  method?: string;
  url?: string;
}

type LogMethod = (obj: object, msg: string) => void;
export type ErrorLogger = Record<HttpErrorDefinition['level'], LogMethod>;

/** Short enough to follow an incident as it happens, long enough that a flood costs a few lines. */
const DEFAULT_INTERVAL_MS = 10_000;

interface CodeState {
  definition: HttpErrorDefinition;
  lastLineAt: number;
  /** Errors of this code since its last line. */
  unlogged: number;
  timer: NodeJS.Timeout | undefined;
}

export class HttpErrorLog {
  private readonly log: ErrorLogger;
  private readonly intervalMs: number;
  private readonly count: ((code: string) => void) | undefined;
  private readonly codes = new Map<string, CodeState>();

  /** `count` is told the code of every error. */
  constructor(log: ErrorLogger, options: { intervalMs?: number; count?: (code: string) => void } = {}) {
    this.log = log;
    this.intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS;
    this.count = options.count;
  }

  record(definition: HttpErrorDefinition, context: ErrorContext, cause?: unknown): void {
    this.count?.(definition.code);
    const fields = {
      code: definition.code,
      status: definition.status,
      ...(context.method !== undefined && { method: context.method }),
      ...(context.url !== undefined && { url: context.url.slice(0, 200) }),
    };
    const message = definition.text || definition.code;
    if (definition.unexpected) {
      this.log[definition.level]({ ...fields, ...(cause !== undefined && { err: cause }) }, message);
      return;
    }
    const now = Date.now();
    const state = this.codes.get(definition.code);
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
    // the first of its code for an interval: logged at once, with the request and the cause's message
    this.codes.set(definition.code, { definition, lastLineAt: now, unlogged: 0, timer: undefined });
    this.log[definition.level](
      { ...fields, count: 1, ...(cause instanceof Error && { cause: cause.message }) },
      message,
    );
  }

  /** Logs the counts not logged yet (on close). */
  flush(): void {
    for (const state of this.codes.values()) if (state.unlogged > 0) this.summarize(state);
  }

  private summarize(state: CodeState): void {
    clearTimeout(state.timer);
    const now = Date.now();
    const { definition } = state;
    this.log[definition.level](
      {
        code: definition.code,
        status: definition.status,
        count: state.unlogged,
        seconds: Math.round((now - state.lastLineAt) / 100) / 10,
      },
      `${definition.text || definition.code} (${state.unlogged} more since the last line)`,
    );
    Object.assign(state, { lastLineAt: now, unlogged: 0, timer: undefined });
  }
}
