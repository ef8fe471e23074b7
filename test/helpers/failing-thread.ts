/** Runs code whose worker threads fail on purpose (see failing-thread-worker.ts). */

/** The script to give in place of a thread's own. */
export const FAILING_THREAD = new URL('./failing-thread-worker.js', import.meta.url);

/** How a thread fails: at its start, or after some messages of work by exiting or by throwing. */
export type ThreadFailure = { at: 'start' } | { after: number; how: 'exit' | 'throw' };

/** Each way a thread fails, for tests to go through, and what workerMessages says of it. */
export const THREAD_FAILURES: [ThreadFailure, string][] = [
  [{ at: 'start' }, 'its thread failed: made to fail at its start'],
  [{ after: 2, how: 'exit' }, 'its thread exited (code 7) before the end'],
  [{ after: 2, how: 'throw' }, 'its thread failed: made to fail in its loop'],
];

/**
 * Runs `run`, in which the threads started with FAILING_THREAD run `script` (a URL of src/) and fail
 * as `failure` says. A thread takes its environment when it starts: one started after `run` ends
 * runs as given no more.
 */
export async function withFailingThreads<T>(
  script: URL,
  failure: ThreadFailure,
  run: () => Promise<T>,
): Promise<T> {
  process.env.OTSD_TEST_THREAD_SCRIPT = script.href;
  process.env.OTSD_TEST_THREAD_FAILS_AFTER = String('at' in failure ? 0 : failure.after);
  process.env.OTSD_TEST_THREAD_FAILS_HOW = 'at' in failure ? '' : failure.how;
  try {
    return await run();
  } finally {
    delete process.env.OTSD_TEST_THREAD_SCRIPT;
    delete process.env.OTSD_TEST_THREAD_FAILS_AFTER;
    delete process.env.OTSD_TEST_THREAD_FAILS_HOW;
  }
}
