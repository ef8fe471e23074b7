/**
 * Damaged storage, the journal (the reliability report's 2b-2c): a journal cut at a random offset is
 * refused while it lacks records the index applied (and starts again once the segment is put back);
 * a bit flipped at a random offset of the journal is refused at start or found by the full check
 * after it (and starts again once the bit is put back). Nothing acknowledged is lost.
 */
import assert from 'node:assert/strict';
import { readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { SEGMENT_HEADER_BYTES } from '../../src/journal/segment.js';
import { flipBit, fullCheckOutcome, lastSegment, segments, storageCase, tryStart } from './storage-cases.js';

describe('damaged storage: the journal', () => {
  it('refuses a journal cut at a random offset while it lacks applied records, and starts once it is restored', async (t) => {
    await storageCase(t, 'journal truncated at a random offset', async (dataDir, port) => {
      const segment = lastSegment(dataDir);
      const backup = readFileSync(segment);
      const cut =
        SEGMENT_HEADER_BYTES + Math.floor(Math.random() * (backup.byteLength - SEGMENT_HEADER_BYTES));
      truncateSync(segment, cut);
      const started = await tryStart(dataDir, port);
      if (typeof started !== 'string') {
        // the cut fell in a tail the index had not applied: never acknowledged, cut off as a crash's
        await started.stop('SIGTERM');
        return 'cut in an unacknowledged tail';
      }
      assert.match(
        started,
        /records \d+\.\.\d+ are missing: .*Refusing to start\. Restore the journal's segment files .*otsd reindex --accept-loss/,
      );
      assert.equal(readFileSync(segment).byteLength, cut, 'a refused start must leave the journal as it is');
      writeFileSync(segment, backup);
      return 'refused';
    });
  });

  it('refuses a journal with a bit flipped at a random offset, or finds it after start, and starts once it is put back', async (t) => {
    await storageCase(t, 'journal bit flipped at a random offset', async (dataDir, port) => {
      const all = segments(dataDir);
      const segment = all[Math.floor(Math.random() * all.length)] as string;
      const at = Math.floor(Math.random() * statSync(segment).size);
      const bit = Math.floor(Math.random() * 8);
      flipBit(segment, at, bit);
      const started = await tryStart(dataDir, port);
      if (typeof started === 'string') {
        assert.match(started, /journal|segment|record/, started);
        flipBit(segment, at, bit);
        return 'refused at start';
      }
      const outcome = await fullCheckOutcome(started);
      await started.stop('SIGTERM');
      if (outcome === 'journal damaged') {
        // found after start: nothing was cut, the bit is where it was
        flipBit(segment, at, bit);
        return 'found by the full check';
      }
      assert.equal(outcome, 'passed', started.output());
      // in a tail no record the index applied was in (cut off as a crash's), or in reserved header bytes
      return 'harmless or in an unacknowledged tail';
    });
  });
});
