/**
 * A full disk, or an index that cannot take records for want of space, is waited out: appends are
 * refused with JournalUnavailableError meanwhile, the file is cut back to its durable records, and the
 * journal takes appends again by itself once a write succeeds. Anything else a listener cannot mend
 * still stops the journal for a restart.
 */
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Journal, type JournalOutage, JournalUnavailableError } from '../../src/journal/journal.js';
import { isStorageError } from '../../src/journal/outage.js';
import { RecordKind } from '../../src/journal/record.js';
import { verifyJournal } from '../../src/journal/verify.js';
import { DiskFullFaultInjector } from '../helpers/disk-full-fault-injector.js';
import { memoryLog, tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';

const payload = (i: number) => new Uint8Array(32).fill(i % 256);
const RETRY = { firstMs: 10, maxMs: 50 };
const segmentSize = (dir: string) =>
  statSync(join(dir, readdirSync(dir).find((n) => n.endsWith('.seg')) as string)).size;

describe('journal on a full disk', () => {
  it('refuses appends while writes fail, cut back to its durable records, and takes them again once the disk has room', async (t) => {
    const dir = tempDir(t);
    const files = new DiskFullFaultInjector();
    const log = memoryLog();
    const journal = await Journal.open({ dir, create: true, files, log, retryDelays: RETRY });
    const outages: (JournalOutage | undefined)[] = [];
    journal.onOutage((o) => outages.push(o));
    for (let i = 0; i < 3; i++) await journal.append(RecordKind.Commitment, payload(i));
    const durableSize = segmentSize(dir);

    files.fill();
    const batch = [3, 4, 5].map((i) => journal.append(RecordKind.Commitment, payload(i)));
    for (const append of batch) {
      await assert.rejects(append, (e) => e instanceof JournalUnavailableError && /ENOSPC/.test(e.message));
    }
    await assert.rejects(journal.append(RecordKind.Commitment, payload(6)), JournalUnavailableError);
    assert.match(journal.unavailable?.reason ?? '', /a write failed: ENOSPC: no space left on device/);
    assert.equal(journal.head.records, 3);
    // retries fail while the disk is full, and the half-written batch is cut off meanwhile
    await waitFor('a few retries', () => ((journal.unavailable?.retries ?? 0) >= 3 ? true : undefined));
    assert.equal(segmentSize(dir), durableSize);
    assert.match(
      log.lines.find((l) => l.level === 'error')?.msg ?? '',
      /not taking appends until a write succeeds/,
    );

    files.free();
    await waitFor('the journal to take appends again', () => (journal.unavailable ? undefined : true));
    assert.equal((await journal.append(RecordKind.Commitment, payload(7))).number, 3);
    assert.match(log.lines.at(-1)?.msg ?? '', /writing again; taking appends/);
    assert.deepEqual(
      outages.map((o) => o?.reason.slice(0, 14)),
      ['a write failed', undefined],
    );
    await journal.close();
    const verified = await verifyJournal(dir);
    assert.deepEqual([verified.ok, verified.records, verified.tornTail], [true, 4, undefined]);
  });

  it('waits out an index that cannot take records for want of space, then acknowledges again', async (t) => {
    const journal = await Journal.open({ dir: tempDir(t), create: true, retryDelays: RETRY });
    let full = false;
    const applied: number[] = [];
    const noSpace = () => Object.assign(new Error('Input/output error'), { code: 5 });
    journal.onAppend(
      (records) => {
        if (full) throw noSpace();
        applied.push(...records.map((r) => r.number));
      },
      async () => {
        if (full) throw noSpace();
        applied.push(applied.length);
      },
    );
    await journal.append(RecordKind.Commitment, payload(0));
    full = true;
    await assert.rejects(journal.append(RecordKind.Commitment, payload(1)), JournalUnavailableError);
    await assert.rejects(journal.append(RecordKind.Commitment, payload(2)), JournalUnavailableError);
    full = false;
    await waitFor('the index to catch up', () => (journal.unavailable ? undefined : true));
    assert.deepEqual(applied, [0, 1]);
    assert.equal((await journal.append(RecordKind.Commitment, payload(3))).number, 2);
    assert.deepEqual(applied, [0, 1, 2]);
    await journal.close();
  });

  it('stops for a restart when what keeps a listener behind is not a storage fault', async (t) => {
    const journal = await Journal.open({ dir: tempDir(t), create: true, retryDelays: RETRY });
    let attempts = 0;
    journal.onAppend(
      () => {
        throw Object.assign(new Error('Input/output error'), { code: 5 });
      },
      async () => {
        attempts++;
        if (attempts === 1) throw Object.assign(new Error('No space left on device'), { code: 'ENOSPC' });
        throw new Error('index: expected journal record 7, got 0');
      },
    );
    await assert.rejects(journal.append(RecordKind.Commitment, payload(0)), JournalUnavailableError);
    assert.match((await journal.failed).message, /expected journal record 7/);
    assert.equal(journal.unavailable, undefined);
    await assert.rejects(journal.append(RecordKind.Commitment, payload(1)), /expected journal record 7/);
    await journal.close();
  });

  it('counts a full disk, a quota, an I/O error and a read-only file system as storage faults', () => {
    for (const code of ['ENOSPC', 'EDQUOT', 'EIO', 'EROFS', 28, 5]) {
      assert.equal(isStorageError(Object.assign(new Error(), { code })), true, String(code));
    }
    for (const error of [
      new Error('index: expected journal record 1, got 2'),
      { code: 'EBADF' },
      { code: -30796 },
    ]) {
      assert.equal(isStorageError(error), false);
    }
  });
});
