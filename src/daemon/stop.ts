/**
 * How a running node is asked to stop, and stops. The signal handlers are installed before the node
 * starts, so a SIGTERM that arrives while it starts (an index catching up can take minutes) is kept
 * and acted on once it is up, rather than killing it mid-start with Node's default handler.
 * @module
 */

/** Resolves with the first of SIGINT or SIGTERM from now on (a second one kills at once, as usual). */
export function stopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(signal);
    };
    process.once('SIGINT', on);
    process.once('SIGTERM', on);
  });
}

export interface StopLog {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/**
 * Closes `node` gracefully; if that takes longer than `timeoutMs` the process exits with status 1. A
 * close that fails sets exit status 1.
 */
export async function stopNode(
  node: { close(): Promise<void> },
  reason: string,
  log: StopLog,
  timeoutMs: number,
): Promise<void> {
  log.info({ reason }, 'otsd: stopping');
  const timer = setTimeout(() => {
    log.error({ timeoutMs }, 'otsd: graceful stop timed out');
    process.exit(1);
  }, timeoutMs);
  timer.unref();
  try {
    await node.close();
  } catch (e) {
    log.error({ err: e }, 'otsd: error while stopping');
    process.exitCode = 1;
  } finally {
    clearTimeout(timer);
  }
}
