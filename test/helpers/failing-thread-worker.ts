/**
 * A fake, named as such: a worker thread of otsd's (the index's read-ahead, a mirror's chunk checks)
 * made to fail, a fault the real ones cannot be made to produce on demand (a bug, their memory, a
 * crash). It runs the script OTSD_TEST_THREAD_SCRIPT names, and once it has sent
 * OTSD_TEST_THREAD_FAILS_AFTER messages of work (any but its end or its failure) it exits (code 7), or
 * with OTSD_TEST_THREAD_FAILS_HOW=throw throws at its next, from inside the script's loop; with 0, it
 * throws before it sends any. Started through failing-thread.ts.
 * @module
 */
import { parentPort } from 'node:worker_threads';

const script = process.env.OTSD_TEST_THREAD_SCRIPT as string;
const failsAfter = Number(process.env.OTSD_TEST_THREAD_FAILS_AFTER);
const throws = process.env.OTSD_TEST_THREAD_FAILS_HOW === 'throw';
if (failsAfter === 0) throw new Error('made to fail at its start');
const port = parentPort as NonNullable<typeof parentPort>;
const post = port.postMessage.bind(port);
let sent = 0;
port.postMessage = (message: { kind: string }, transfer) => {
  const work = message.kind !== 'end' && message.kind !== 'failed';
  if (work && throws && sent === failsAfter) throw new Error('made to fail in its loop');
  post(message, transfer);
  if (work && ++sent === failsAfter && !throws) process.exit(7);
};
await import(script);
