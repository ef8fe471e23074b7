/**
 * The daemon's logger: pino JSON lines on stdout (for journald and log shippers), or short readable
 * lines when stdout is a terminal.
 * @module
 */
import { Writable } from 'node:stream';
import { type Logger, pino } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const LEVEL_NAMES: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
const OMITTED = new Set(['level', 'time', 'msg', 'name', 'pid', 'hostname']);

/** One pino JSON line as `12:34:56 INFO  message key=value ...`. */
export function readableLine(json: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const time = new Date(Number(entry.time)).toISOString().slice(11, 19);
  const level = (LEVEL_NAMES[Number(entry.level)] ?? String(entry.level)).padEnd(5);
  const fields = Object.entries(entry)
    .filter(([key]) => !OMITTED.has(key))
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
  return `${time} ${level} ${entry.msg ?? ''}${fields ? ` ${fields}` : ''}`;
}

export function createLogger(level: LogLevel = 'info', terminal = process.stdout.isTTY === true): Logger {
  if (!terminal) return pino({ level, base: { name: 'otsd' } });
  const readable = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean))
        process.stdout.write(`${readableLine(line)}\n`);
      done();
    },
  });
  return pino({ level, base: { name: 'otsd' } }, readable);
}
