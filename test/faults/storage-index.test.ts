/**
 * Damaged storage, the index (the reliability report's 2d): garbage at a random offset of the index,
 * at its start too, bits flipped in it, and a deleted index are rebuilt from the journal. Nothing
 * acknowledged is lost.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startCalendarProcess } from '../helpers/calendar-process.js';
import {
  ARGS,
  flipBit,
  fullCheckOutcome,
  REBUILT,
  startSurvivingIndexDamage,
  storageCase,
} from './storage-cases.js';

describe('damaged storage: the index', () => {
  it('rebuilds an index with bits flipped at random offsets, at start or after the full check finds them', async (t) => {
    await storageCase(
      t,
      'index bits flipped (8, random offsets)',
      async (dataDir, port, noteDamage) => {
        const file = join(dataDir, 'index', 'data.mdb');
        const size = statSync(file).size;
        const flips = Array.from({ length: 8 }, () => ({
          at: Math.floor(Math.random() * size),
          bit: Math.floor(Math.random() * 8),
        }));
        for (const { at, bit } of flips) flipBit(file, at, bit);
        const damage = `bits flipped at ${flips.map(({ at, bit }) => `${at}.${bit}`).join(' ')} (byte.bit)`;
        noteDamage(damage);
        const { calendar, crashed } = await startSurvivingIndexDamage(dataDir, port, damage);
        const rebuilt = calendar.output().includes(REBUILT);
        if (crashed) {
          assert.ok(rebuilt, `${damage}\n${calendar.output()}`);
          await calendar.stop('SIGTERM');
          return 'crashed at start; rebuilt by the next start';
        }
        const outcome = await fullCheckOutcome(calendar, damage);
        await calendar.stop('SIGTERM');
        if (outcome === 'exited 1') {
          assert.match(
            calendar.output(),
            /the index is damaged; exiting for a restart/,
            `${damage}\n${calendar.output()}`,
          );
          return 'found after start: exited for the restart that rebuilds it';
        }
        // LMDB met damage at a write that neither start check reads, and ended the process: the next
        // try's start comes up (it may crash once more, and then rebuilds)
        if (/^ended by (SIGBUS|SIGSEGV|SIGABRT)$/.test(outcome)) return 'crashed after start at a write';
        assert.equal(outcome, 'passed', `${damage}\n${calendar.output()}`);
        return rebuilt ? 'rebuilt at start' : 'in bytes no lookup reads';
      },
      true,
    );
  });

  it('rebuilds an index with 8 KiB of garbage at a random offset, or at its start', async (t) => {
    let tries = 0;
    await storageCase(
      t,
      'index garbage (8 KiB, random offset)',
      async (dataDir, port, noteDamage) => {
        const file = join(dataDir, 'index', 'data.mdb');
        const fd = openSync(file, 'r+');
        const size = fstatSync(fd).size;
        const at = tries++ === 0 ? 0 : Math.floor(Math.random() * Math.max(1, size - 8192));
        writeSync(fd, randomBytes(8192), 0, 8192, at);
        closeSync(fd);
        const damage = `garbage at ${at}`;
        noteDamage(damage);
        const { calendar, crashed } = await startSurvivingIndexDamage(dataDir, port, damage);
        const rebuilt = calendar.output().includes(REBUILT);
        await calendar.stop('SIGTERM');
        if (crashed) {
          assert.ok(rebuilt, `${damage}\n${calendar.output()}`);
          return 'crashed at start; rebuilt by the next start';
        }
        return rebuilt ? 'rebuilt' : 'in pages not in use';
      },
      true,
    );
  });

  it('rebuilds a deleted index', async (t) => {
    await storageCase(t, 'index deleted', async (dataDir, port) => {
      rmSync(join(dataDir, 'index'), { recursive: true });
      const calendar = await startCalendarProcess(dataDir, ARGS, port);
      await calendar.stop('SIGTERM');
      return 'rebuilt';
    });
  });
});
