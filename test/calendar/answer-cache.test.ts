/** The cache of GET /timestamp answers: least recently used dropped first, within its size. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { AnswerCache } from '../../src/calendar/answer-cache.js';

describe('AnswerCache', () => {
  it('the cache keeps the most recently used answers within its size, dropping the least recently used', () => {
    const MAX = 100;
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.boolean(),
            fc.integer({ min: 0, max: 20 }),
            // mostly small answers, so that several are held and which is dropped depends on use
            fc.oneof(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 31, max: 120 })),
          ),
          { maxLength: 200 },
        ),
        (steps) => {
          const cache = new AnswerCache(MAX);
          // the model: what the cache holds, least recently used first
          let held: [string, Uint8Array][] = [];
          const total = () => held.reduce((n, [, b]) => n + b.byteLength, 0);
          for (const [isSet, k, size] of steps) {
            const key = String(k);
            const mine = held.find(([held]) => held === key);
            if (isSet) {
              const bytes = new Uint8Array(size).fill(k);
              cache.set(key, bytes);
              held = held.filter(([held]) => held !== key);
              if (size <= MAX) held.push([key, bytes]);
              while (total() > MAX) held.shift();
            } else {
              assert.equal(cache.get(key), mine?.[1]);
              if (mine) held = [...held.filter(([held]) => held !== key), mine];
            }
            assert.equal(cache.size, total());
            assert.ok(cache.size <= MAX);
          }
          for (const [key, bytes] of held) assert.equal(cache.get(key), bytes);
        },
      ),
    );
  });
});
