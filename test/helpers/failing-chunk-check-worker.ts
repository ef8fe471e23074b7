/**
 * A fake, named as such: the mirror's chunk-checking thread (chunk-check-worker.js) made to fail, a
 * fault the real one cannot be made to produce on demand (a crash, its memory). With
 * OTSD_TEST_THREAD_FAILS_AFTER=n in the environment the thread is created with, it exits (code 7)
 * once it has sent n chunks; with 0, it throws before it sends any.
 * @module
 */
import { parentPort } from 'node:worker_threads';

const failsAfter = Number(process.env.OTSD_TEST_THREAD_FAILS_AFTER ?? 0);
if (failsAfter === 0) throw new Error('made to fail at its start');
const port = parentPort as NonNullable<typeof parentPort>;
const post = port.postMessage.bind(port);
let chunksSent = 0;
port.postMessage = (message: { kind: string }, transfer) => {
  post(message, transfer);
  if (message.kind === 'chunk' && ++chunksSent === failsAfter) process.exit(7);
};
await import('../../src/mirror/chunk-check-worker.js');
