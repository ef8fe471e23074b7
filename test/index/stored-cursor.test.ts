/**
 * The index's stored positions (applied, the acknowledged floor) carry a check: a flipped bit in one
 * reads as the index's damage, never as a position the journal is then held to.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { storedAcknowledged } from '../../src/index/calendar-index.js';
import { decodeCursor, encodeCursor, StoredCursorDamagedError } from '../../src/index/stored-cursor.js';
import type { ReadCursor } from '../../src/journal/journal.js';

const CURSOR: ReadCursor = {
  number: 263_226,
  segment: 262_144,
  offset: 74_722,
  previousChainHash: new Uint8Array(32).map((_, i) => i * 7),
};

describe('stored cursor', () => {
  it('reads back what it wrote, and nothing where nothing is stored', () => {
    assert.deepEqual(decodeCursor(encodeCursor(CURSOR), 'applied'), CURSOR);
    assert.equal(decodeCursor(undefined, 'applied'), undefined);
  });

  it('reads a position an otsd before the check wrote (the fields alone)', () => {
    assert.deepEqual(decodeCursor(encodeCursor(CURSOR).subarray(0, 56), 'applied'), CURSOR);
  });

  it('refuses every single flipped bit, naming the position', () => {
    const stored = encodeCursor(CURSOR);
    for (let bit = 0; bit < stored.byteLength * 8; bit++) {
      const damaged = Buffer.from(stored);
      damaged[bit >> 3] = (damaged[bit >> 3] as number) ^ (1 << (bit & 7));
      assert.throws(
        () => decodeCursor(damaged, 'acknowledged'),
        (e: Error) =>
          e instanceof StoredCursorDamagedError && /its acknowledged position is damaged/.test(e.message),
        `bit ${bit}`,
      );
    }
  });

  it('refuses a value of another length, and an unchecked one that cannot be a position', () => {
    assert.throws(
      () => decodeCursor(Buffer.alloc(63), 'applied'),
      /applied position is damaged \(63 bytes\)/,
    );
    const fields = encodeCursor({ ...CURSOR, segment: CURSOR.number + 1 }).subarray(0, 56);
    assert.throws(() => decodeCursor(fields, 'applied'), /record 263226, segment 263227/);
  });

  it('keeps the position that still reads when the other is damaged, and names the damage', () => {
    const flipped = (cursor: ReadCursor) => {
      const stored = encodeCursor(cursor);
      stored[5] = (stored[5] as number) ^ 4;
      return stored;
    };
    const floor = { ...CURSOR, number: CURSOR.number + 10 };
    const meta = (values: Record<string, Buffer>) => ({ get: (key: Buffer) => values[key.toString()] });
    assert.deepEqual(
      storedAcknowledged(meta({ applied: flipped(CURSOR), acknowledged: encodeCursor(floor) })),
      {
        acknowledged: floor,
        problem: 'index: its applied position is damaged (its check does not match)',
      },
    );
    assert.deepEqual(
      storedAcknowledged(meta({ applied: encodeCursor(CURSOR), acknowledged: flipped(floor) })),
      {
        acknowledged: CURSOR,
        problem: 'index: its acknowledged position is damaged (its check does not match)',
      },
    );
    assert.deepEqual(storedAcknowledged(meta({ applied: encodeCursor(CURSOR) })), {
      acknowledged: CURSOR,
      problem: undefined,
    });
  });
});
