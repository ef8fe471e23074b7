/** A fresh temporary directory per test, removed when the test ends. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

export function tempDir(t: Pick<TestContext, 'after'>, prefix = 'otsd-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Collects what a component logs, pino-style. */
export function memoryLog(): {
  lines: { level: string; obj: object; msg: string }[];
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  debug: LogFn;
} {
  const lines: { level: string; obj: object; msg: string }[] = [];
  const at =
    (level: string): LogFn =>
    (obj, msg) => {
      lines.push({ level, obj, msg });
    };
  return { lines, info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') };
}

type LogFn = (obj: object, msg: string) => void;
