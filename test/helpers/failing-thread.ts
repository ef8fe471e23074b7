/** Runs code whose worker threads fail on purpose (see failing-thread-worker.ts). */

/** The script to give in place of a thread's own. */
export const FAILING_THREAD = new URL('./failing-thread-worker.js', import.meta.url);

/**
 * Runs `run`, in which the threads started with FAILING_THREAD run `script` (a URL of src/) and fail
 * after `failsAfter` messages of work (0: at their start). A thread takes its environment when it
 * starts: one started after `run` ends runs as given no more.
 */
export async function withFailingThreads<T>(
  script: URL,
  failsAfter: number,
  run: () => Promise<T>,
): Promise<T> {
  process.env.OTSD_TEST_THREAD_SCRIPT = script.href;
  process.env.OTSD_TEST_THREAD_FAILS_AFTER = String(failsAfter);
  try {
    return await run();
  } finally {
    delete process.env.OTSD_TEST_THREAD_SCRIPT;
    delete process.env.OTSD_TEST_THREAD_FAILS_AFTER;
  }
}
