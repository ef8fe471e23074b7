/**
 * One `process.nextTick` entry kept alive for the life of the process. V8 keeps the shapes (maps)
 * nextTick's queue entry passes through, which its object literal's feedback points to weakly, only
 * while an entry exists. A full garbage collection while none is queued (an idle moment after the
 * start's full index check makes several, but any can) frees them; the next tick makes new ones, the
 * literal's feedback turns megamorphic for good, and every tick then sets its fields through V8's
 * runtime. Under HTTP load that was some 5 % of the main thread's CPU (GET /status: 0.2 -> 2.5 us an
 * answer in nextTick alone, Runtime_DefineKeyedOwnPropertyInLiteral in perf), whichever GC came first.
 * @module
 */
import { executionAsyncResource } from 'node:async_hooks';

let held: object | undefined;

/** Keeps the entry of one tick (its resource while its callback runs) from now on. */
export function keepTickShapes(): void {
  if (held) return;
  process.nextTick(() => {
    held = executionAsyncResource();
  });
}
