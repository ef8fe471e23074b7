/**
 * PrefixEntryBatch keeps a transaction's prefix entries until its end: it answers for them as a list
 * of (commitment, record) would, through commitments alike in their first bytes and as it grows, and
 * puts exactly those entries, each as prefixEntry makes it, into a real LMDB database.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { open } from 'lmdb';
import { prefixEntry } from '../../src/index/prefix-entry.js';
import { PrefixEntryBatch } from '../../src/index/prefix-entry-batch.js';
import { toHex } from '../../src/ots/index.js';
import { tempDir } from '../helpers/temp-dir.js';

/** The index's prefix of a commitment: its first 6 bytes, zero-padded. */
const prefixHex = (commitment: Uint8Array) => {
  const prefix = new Uint8Array(6);
  prefix.set(commitment.subarray(0, 6));
  return toHex(prefix);
};

// few distinct values in each of the first bytes, so that prefixes and keys repeat, and some are short
const commitment = fc.uint8Array({ minLength: 1, maxLength: 40, size: 'max' }).map((bytes) => {
  for (let i = 0; i < Math.min(bytes.length, 6); i++) bytes[i] = (bytes[i] as number) % (i < 2 ? 4 : 3);
  return bytes;
});
/** Commitments added, each with a record number: increasing, some past 2^32. */
const added = fc
  .array(fc.tuple(commitment, fc.integer({ min: 1, max: 2 ** 28 })), {
    minLength: 1,
    maxLength: 2500,
    size: 'max',
  })
  .map((list) => {
    let n = 0;
    return list.map(([c, step]) => {
      n += step;
      return { commitment: c, n };
    });
  });

describe('PrefixEntryBatch', () => {
  it('answers for its entries as a list of them does: those sharing a prefix, the last added first', () => {
    let grew = 0;
    fc.assert(
      fc.property(added, fc.array(commitment, { maxLength: 30 }), (entries, asked) => {
        const batch = new PrefixEntryBatch();
        for (const { commitment: c, n } of entries) batch.add(c, n);
        if (entries.length > 1024) grew++;
        const sharing = new Map<string, number[]>();
        for (const { commitment: c, n } of entries)
          sharing.set(prefixHex(c), [n, ...(sharing.get(prefixHex(c)) ?? [])]);
        for (const c of [...entries.map((e) => e.commitment), ...asked])
          assert.deepEqual([...batch.recordsSharing(c)], sharing.get(prefixHex(c)) ?? []);
        batch.clear();
        for (const { commitment: c } of entries) assert.deepEqual([...batch.recordsSharing(c)], []);
      }),
      { numRuns: 60 },
    );
    assert.ok(grew > 5, `the batch grew in ${grew} runs of 60`);
  });

  it('puts every entry into LMDB as prefixEntry makes it, sorted or (a few) as added, and is empty after', (t) => {
    const root = open<Buffer, Buffer>({
      path: tempDir(t),
      keyEncoding: 'binary',
      encoding: 'binary',
      maxDbs: 2,
    });
    t.after(() => root.close());
    // as the index opens it (lmdb's types leave out dupFixed)
    const dupFixed = { dupSort: true, dupFixed: true };
    const db = root.openDB<Buffer, Buffer>({
      name: 'prefixes',
      keyEncoding: 'binary',
      encoding: 'binary',
      ...dupFixed,
    });
    const batch = new PrefixEntryBatch();
    fc.assert(
      fc.property(added, (entries) => {
        root.transactionSync(() => {
          db.clearSync();
          for (const { commitment: c, n } of entries) batch.add(c, n);
          batch.putInto(db);
          // emptied: a second put adds nothing
          batch.putInto(db);
        });
        for (const { commitment: c } of entries) assert.deepEqual([...batch.recordsSharing(c)], []);
        const expected = entries
          .map(({ commitment: c, n }) => prefixEntry(c, n))
          .map(({ key, value }) => `${key.toString('hex')}=${value.toString('hex')}`)
          .sort();
        const held = [...db.getRange()].map(
          ({ key, value }) => `${key.toString('hex')}=${value.toString('hex')}`,
        );
        assert.deepEqual(held, expected);
      }),
      { numRuns: 30 },
    );
  });

  it('refuses a record number its entry cannot hold, before it adds anything', () => {
    const batch = new PrefixEntryBatch();
    assert.throws(() => batch.add(new Uint8Array(32), 2 ** 40), /record 1099511627776 does not fit/);
    assert.deepEqual([...batch.recordsSharing(new Uint8Array(32))], []);
  });
});
