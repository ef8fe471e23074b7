/**
 * Which meta lmdb-js opens (src/index/lmdb-snapshot.ts), as mdb.c's mdb_pick_meta does with the
 * overlapping sync otsd's index uses: the start walks that snapshot, not always the newest.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { isLmdbDamage } from '../../src/index/errors.js';
import { MDB_OVERLAPPINGSYNC, META } from '../../src/index/lmdb-layout.js';
import { metaLmdbOpens } from '../../src/index/lmdb-snapshot.js';

/** This machine's boot, as lmdb-js reads it. */
const BOOT = BigInt(
  `0x${/^[0-9a-f]+/i.exec(readFileSync('/proc/sys/kernel/random/boot_id', 'latin1'))?.[0]}`,
);

function meta(txnid: bigint, { unsynced = false, boot = BOOT } = {}): Buffer {
  const bytes = Buffer.alloc(META.bytes);
  bytes.writeBigUInt64LE(txnid, META.txnid);
  bytes.writeUInt16LE(unsynced ? MDB_OVERLAPPINGSYNC : 0, META.flags);
  bytes.writeBigInt64LE(boot, META.bootId);
  return bytes;
}
const NONE = Buffer.alloc(META.bytes);

describe('the meta lmdb-js opens', () => {
  it('is the newest when it was synced, or written on this boot', () => {
    const [old, synced] = [meta(4n), meta(5n)];
    assert.equal(metaLmdbOpens(old, synced, NONE), synced);
    const [thisBoot, older] = [meta(7n, { unsynced: true }), meta(6n)];
    assert.equal(metaLmdbOpens(thisBoot, older, NONE), thisBoot);
  });

  it('is the older after a reboot when the newest was committed without a sync', () => {
    const [unsynced, older] = [meta(9n, { unsynced: true, boot: BOOT + 1n }), meta(8n)];
    assert.equal(metaLmdbOpens(unsynced, older, NONE), older);
    assert.equal(metaLmdbOpens(older, unsynced, NONE), older);
  });

  it('is the sync meta when it is newer than the one picked from the two meta pages', () => {
    const [a, b, sync] = [meta(9n, { unsynced: true, boot: BOOT + 1n }), meta(8n), meta(10n)];
    assert.equal(metaLmdbOpens(a, b, sync), sync);
  });
});

describe('LMDB errors that are damage', () => {
  it('are pages not found, corrupted or refused, not limits, a panic or a full disk', () => {
    const damage = [
      'MDB_PAGE_NOTFOUND: Requested page not found',
      'MDB_BAD_TXN: Transaction must abort',
      'MDB_CORRUPTED: Located page was wrong type',
      'MDB_PROBLEM: Unexpected problem - txn should abort',
    ];
    const not = [
      'MDB_MAP_FULL: Environment mapsize limit reached',
      'MDB_READERS_FULL: Environment maxreaders limit reached',
      'MDB_PANIC: Update of meta page failed',
      'MDB_BAD_VALSIZE: Unsupported size of key/DB name/data',
      'a TypeError',
    ];
    for (const message of damage) assert.ok(isLmdbDamage(new Error(message)), message);
    for (const message of not) assert.ok(!isLmdbDamage(new Error(message)), message);
    assert.ok(!isLmdbDamage(Object.assign(new Error('MDB_BAD_TXN: after EIO'), { code: 5 })));
  });
});
