/**
 * Starting and stopping a node's parts in one place. Each part, once started, registers how to stop
 * it; stopping runs those steps in reverse order, whether the node is closing normally or a later
 * part failed to start (then what had started is stopped, and the start's error is thrown). A step
 * that fails is logged and the rest still run, so one broken part cannot leave a lock or a child
 * process behind.
 * @module
 */

export interface LifecycleLog {
  error(obj: object, msg: string): void;
}

export class Lifecycle {
  private readonly steps: { name: string; stop: () => unknown }[] = [];
  private stopping: Promise<void> | undefined;
  private readonly log: LifecycleLog;

  constructor(log: LifecycleLog) {
    this.log = log;
  }

  /** Registers how to stop a part that has started; the last registered is stopped first. */
  onStop(name: string, stop: () => unknown): void {
    this.steps.push({ name, stop });
  }

  /**
   * Runs `start` (the parts started in it register their stops); if it throws, stops whatever had
   * started, in reverse, and throws its error.
   */
  async start<T>(start: () => Promise<T>): Promise<T> {
    try {
      return await start();
    } catch (e) {
      await this.stop();
      throw e;
    }
  }

  /** Stops every registered part, last first; the same promise for every caller. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const step of this.steps.reverse()) {
        try {
          await step.stop();
        } catch (e) {
          this.log.error({ err: e, part: step.name }, 'stopping: a part failed to stop');
        }
      }
    })();
    return this.stopping;
  }
}

/**
 * Listens with `app` and registers the end of its close (every request answered, connections ended).
 * Returns the step that stops taking new requests, for the caller to register once the parts that
 * answer requests in flight (an aggregator's waiting digests) have registered theirs: closing then
 * stops intake first, lets those parts answer, and waits for the server last.
 */
export async function listen(
  life: Lifecycle,
  app: {
    listen(o: { host: string; port: number; backlog: number }): Promise<unknown>;
    close(): PromiseLike<unknown>;
  },
  address: { host: string; port: number; backlog: number },
): Promise<{ stopTakingRequests: () => void }> {
  await app.listen(address);
  let closed: PromiseLike<unknown> | undefined;
  const close = () => {
    closed ??= app.close();
    return closed;
  };
  life.onStop('HTTP server', close);
  // its failure is logged by the 'HTTP server' step, which awaits the same promise
  return { stopTakingRequests: () => void close().then(undefined, () => undefined) };
}
