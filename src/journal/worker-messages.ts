/**
 * The messages a worker thread posts, in order, as an async generator: the thread's own failure, or
 * its exit before the reader stops, throws ThreadFailedError (named by `what`). The thread is
 * terminated when the generator ends, however it ends; the thread sends a few messages ahead of the
 * reader (SendCredit). The index's read-ahead and a mirror's chunk checks use it.
 * @module
 */
import type { MessagePort, Worker } from 'node:worker_threads';

type Arrival<M> =
  | { kind: 'message'; message: M }
  | { kind: 'error'; error: Error }
  | { kind: 'exit'; code: number };

/**
 * The thread failed (threw, or ran out of memory) or exited before the reader was done: not a failure
 * the thread caught and reported in a message of its own (a damaged journal, a download).
 */
export class ThreadFailedError extends Error {
  override name = 'ThreadFailedError';
}

export async function* workerMessages<M>(worker: Worker, what: string): AsyncGenerator<M> {
  const arrived: Arrival<M>[] = [];
  let wake: (() => void) | undefined;
  const arrive = (arrival: Arrival<M>) => {
    arrived.push(arrival);
    wake?.();
  };
  worker.on('message', (message: M) => arrive({ kind: 'message', message }));
  worker.on('error', (error) => arrive({ kind: 'error', error }));
  worker.on('exit', (code) => arrive({ kind: 'exit', code }));
  /** The thread's uncaught error, thrown once it has exited. */
  let failure: Error | undefined;
  try {
    for (;;) {
      while (arrived.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      const arrival = arrived.shift() as Arrival<M>;
      // Node tells of the error before the messages the thread posted just before it, and of the exit
      // after them: those are read first
      if (arrival.kind === 'error') {
        failure ??= arrival.error;
        continue;
      }
      if (arrival.kind === 'exit') {
        throw failure
          ? new ThreadFailedError(`${what}: its thread failed: ${failure.message}`, { cause: failure })
          : new ThreadFailedError(`${what}: its thread exited (code ${arrival.code}) before the end`);
      }
      yield arrival.message;
    }
  } finally {
    // its listeners stay: an error it reports while ending is taken here, not thrown unheard
    await worker.terminate();
  }
}

/**
 * In a worker: how much it may send before the reader takes it, so that at most `budget` (messages, or
 * bytes: the sender's unit) waits in memory, and always one message. The reader posts back the amount
 * of each message it takes (takeMessage).
 */
export class SendCredit {
  private outstanding = 0;
  private taken: (() => void) | undefined;

  constructor(
    port: MessagePort,
    private readonly budget: number,
  ) {
    port.on('message', (amount: number) => {
      this.outstanding -= amount;
      this.taken?.();
    });
  }

  /** A message of `amount` was sent: waits until the reader has taken enough for another. */
  async spend(amount = 1): Promise<void> {
    this.outstanding += amount;
    while (this.outstanding >= this.budget) await new Promise<void>((resolve) => (this.taken = resolve));
  }
}

/**
 * In a worker: sends what `each` makes of every item `reading` yields, then says `end`. A failure of
 * the reading itself (a download, the journal) is reported with `failed`, which the reader throws as
 * the thread's report; anything else (a bug, memory) is left uncaught: the thread's own failure, which
 * the reader reads on without (ThreadFailedError).
 */
export async function workThrough<T>(
  reading: AsyncIterator<T>,
  work: { each(item: T): Promise<void>; end(): void; failed(error: unknown): void },
): Promise<void> {
  for (;;) {
    let item: IteratorResult<T>;
    try {
      item = await reading.next();
    } catch (e) {
      work.failed(e);
      return;
    }
    if (item.done) {
      work.end();
      return;
    }
    await work.each(item.value);
  }
}

/** In the reader: tells `worker` that a message of `amount` (as its SendCredit counts) was taken. */
export function takeMessage(worker: Worker, amount = 1): void {
  worker.postMessage(amount);
}
