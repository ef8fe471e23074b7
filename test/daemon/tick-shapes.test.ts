/**
 * keepTickShapes: a full garbage collection with no tick queued leaves nextTick's object literal
 * megamorphic for good (each tick then goes through V8's runtime), unless one tick's entry is kept.
 * Read from V8's own feedback for nextTick (%DebugPrint, in a child with natives syntax allowed).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';

const MODULE = new URL('../../src/daemon/tick-shapes.js', import.meta.url).href;

const SCRIPT = `
const [module, keep] = process.argv.slice(1);
if (keep === 'keep') (await import(module)).keepTickShapes();
const ticks = async (n) => { for (let i = 0; i < n; i++) await new Promise((r) => process.nextTick(r)); };
await ticks(1000);
gc();
await ticks(1000);
%DebugPrint(process.nextTick);
`;

/** The states of nextTick's literal's feedback after a full GC, with or without the entry kept. */
function literalFeedback(keep: boolean): string[] {
  const child = spawnSync(
    process.execPath,
    [
      '--allow-natives-syntax',
      '--expose-gc',
      '--input-type=module',
      '-e',
      SCRIPT,
      MODULE,
      keep ? 'keep' : '',
    ],
    { encoding: 'utf8', timeout: 60_000 },
  );
  assert.equal(child.status, 0, child.stderr);
  return [...child.stdout.matchAll(/DefineKeyedOwnPropertyInLiteral (\w+)/g)].map((m) => m[1] as string);
}

describe('keepTickShapes', () => {
  it("keeps nextTick's literal monomorphic through a full GC, which turns it megamorphic otherwise", () => {
    const lost = literalFeedback(false);
    assert.ok(lost.includes('MEGAMORPHIC'), `this Node keeps the shapes by itself: ${lost}`);
    const kept = literalFeedback(true);
    assert.ok(kept.length > 0 && kept.every((state) => state === 'MONOMORPHIC'), String(kept));
  });
});
