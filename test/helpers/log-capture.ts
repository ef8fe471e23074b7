/** A pino logger whose lines are kept, parsed, for a test to read. */
import { Writable } from 'node:stream';
import { type LevelWithSilent, type Logger, pino } from 'pino';

export function captureLogs(level: LevelWithSilent = 'debug'): {
  logger: Logger;
  /** Every log line, parsed. */
  lines: Record<string, unknown>[];
} {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean))
        lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level }, sink), lines };
}
