/**
 * The start's marker keeps the acknowledged position as a line of JSON with its check: a marker
 * damaged into another position reads as none (the start then reads the position from the index).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cursorFromJson, cursorToJson } from '../../src/index/cursor-json.js';
import type { ReadCursor } from '../../src/journal/journal.js';

const CURSOR: ReadCursor = {
  number: 1082,
  segment: 0,
  offset: 74_722,
  previousChainHash: new Uint8Array(32).fill(0xab),
};

describe('cursor as JSON', () => {
  it('reads back what it wrote', () => {
    assert.deepEqual(cursorFromJson(cursorToJson(CURSOR)), CURSOR);
  });

  it('reads a marker an otsd before the check wrote', () => {
    const { check: _, ...fields } = JSON.parse(cursorToJson(CURSOR)) as Record<string, unknown>;
    assert.deepEqual(cursorFromJson(JSON.stringify(fields)), CURSOR);
  });

  it('reads a marker with a digit or a hash damaged as none', () => {
    const text = cursorToJson(CURSOR);
    assert.equal(cursorFromJson(text.replace('1082', '3082')), undefined);
    assert.equal(cursorFromJson(text.replace('abab', 'abaa')), undefined);
    assert.equal(cursorFromJson(text.replace(/"check":"[0-9a-f]+"/, '"check":7')), undefined);
  });
});
