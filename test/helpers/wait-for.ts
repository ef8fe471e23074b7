/** Polls `check` until it returns a value (not undefined), or fails after `timeoutMs`. */
import { setTimeout as sleep } from 'node:timers/promises';

export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 30_000,
  /** Adds context to the timeout error (a log tail, a status). */
  explain?: () => string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${explain ? `\n${explain()}` : ''}`,
      );
    }
    await sleep(100);
  }
}
