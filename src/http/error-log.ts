/**
 * The log lines and counts of HTTP errors. Every error is counted by its code (for metrics). An
 * unexpected one (a bug) is logged every time, with its stack. The expected ones (refusals under load,
 * bad input, lookups of unknown commitments) are logged at most once per interval per code, with how
 * many there were since the last line and no stack: a flood of refusals costs a few lines a minute,
 * not a line each (a line with a stack per refusal wrote 3.6 MB/s of log under a flood).
 * @module
 */
import { SummarizedLines } from '../log/summarized-lines.js';
import type { HttpErrorDefinition } from './errors.js';

/** What a log line says of the request; absent for requests Node's parser refused. */
export interface ErrorContext {
  method?: string;
  url?: string;
}

type LogMethod = (obj: object, msg: string) => void;
export type ErrorLogger = Record<HttpErrorDefinition['level'], LogMethod>;

export class HttpErrorLog {
  private readonly log: ErrorLogger;
  private readonly count: ((code: string) => void) | undefined;
  private readonly lines: SummarizedLines;

  /** `count` is told the code of every error. */
  constructor(log: ErrorLogger, options: { intervalMs?: number; count?: (code: string) => void } = {}) {
    this.log = log;
    this.lines = new SummarizedLines(options.intervalMs);
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
    // the first of its code for an interval: logged at once, with the request and the cause's message
    this.lines.record(
      definition.code,
      () =>
        this.log[definition.level](
          { ...fields, count: 1, ...(cause instanceof Error && { cause: cause.message }) },
          message,
        ),
      (count, seconds) =>
        this.log[definition.level](
          { code: definition.code, status: definition.status, count, seconds },
          `${message} (${count} more since the last line)`,
        ),
    );
  }

  /** Logs the counts not logged yet (on close). */
  flush(): void {
    this.lines.flush();
  }
}
