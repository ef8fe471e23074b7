/**
 * A worker thread's messages as a generator (the index's read-ahead and a mirror's chunk checks): its
 * failure and its early exit end the reader with an error naming the work, and the thread never
 * outlives the reader nor sends more than its credit ahead. Real threads, from code given here.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { ThreadFailedError, takeMessage, workerMessages } from '../../src/journal/worker-messages.js';
import { waitFor } from '../helpers/wait-for.js';

const MODULE = new URL('../../src/journal/worker-messages.js', import.meta.url).href;

/** A thread running `body` (CommonJS, with `port` its parentPort and `SendCredit` loaded). */
function thread(body: string): Worker {
  return new Worker(
    `const port = require('node:worker_threads').parentPort;
     import(${JSON.stringify(MODULE)}).then(async ({ SendCredit }) => { ${body} });`,
    { eval: true },
  );
}

/** Reads every message of `worker` into `into`; resolves with the error that ended the reading, if any. */
async function readAll(worker: Worker, into: unknown[]): Promise<Error | undefined> {
  try {
    for await (const message of workerMessages(worker, 'the test work')) into.push(message);
    return undefined;
  } catch (e) {
    return e as Error;
  }
}

describe('workerMessages', () => {
  it('yields what the thread posts, in order, and ends the thread when the reader stops early', async () => {
    const worker = thread(
      `for (let i = 0; ; i++) { port.postMessage(i); await new Promise((r) => setTimeout(r, 1)); }`,
    );
    const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
    const seen: number[] = [];
    for await (const message of workerMessages<number>(worker, 'the test work')) {
      seen.push(message);
      if (seen.length === 5) break;
    }
    assert.deepEqual(seen, [0, 1, 2, 3, 4]);
    assert.equal(await exited, 1, 'terminated');
  });

  it("throws the thread's own failure after the messages it sent before it, naming the work", async () => {
    const seen: unknown[] = [];
    const error = await readAll(
      thread(`port.postMessage('a'); port.postMessage('b'); throw new RangeError('boom');`),
      seen,
    );
    assert.deepEqual(seen, ['a', 'b']);
    assert.equal(error?.message, 'the test work: its thread failed: boom');
    assert.ok(error instanceof ThreadFailedError, 'told from a failure the thread reports itself');
    assert.ok(error?.cause instanceof RangeError);
  });

  it('throws when the thread exits before the reader is done (a crash, or process.exit in it)', async () => {
    const seen: unknown[] = [];
    const error = await readAll(thread(`port.postMessage('a'); process.exit(3);`), seen);
    assert.deepEqual(seen, ['a']);
    assert.equal(error?.message, 'the test work: its thread exited (code 3) before the end');
    assert.ok(error instanceof ThreadFailedError);
    // ended from outside (as the mirror's stop does): the reader is told, not left waiting
    const waiting = thread(`port.postMessage('a'); setInterval(() => {}, 1000);`);
    const seenBefore: unknown[] = [];
    const reading = readAll(waiting, seenBefore);
    // once it runs: a thread terminated before it starts exits with code 0
    await waitFor('its first message', async () => (seenBefore.length > 0 ? true : undefined));
    await waiting.terminate();
    assert.match((await reading)?.message ?? '', /its thread exited \(code 1\) before the end/);
  });
});

describe('SendCredit', () => {
  it('lets a thread send no more than its budget ahead of the reader, and one more for each taken', async () => {
    const worker = thread(`
      const credit = new SendCredit(port, 3);
      for (let i = 0; i < 10; i++) { port.postMessage(i); await credit.spend(); }`);
    const arrived: number[] = [];
    worker.on('message', (message: number) => arrived.push(message));
    try {
      await waitFor('three messages', async () => (arrived.length >= 3 ? true : undefined));
      await sleep(200);
      assert.deepEqual(arrived, [0, 1, 2], 'none past its budget while none is taken');
      takeMessage(worker);
      await waitFor('a fourth message', async () => (arrived.length >= 4 ? true : undefined));
      await sleep(100);
      assert.equal(arrived.length, 4);
    } finally {
      await worker.terminate();
    }
  });
});
