/**
 * Which snapshot lmdb-js opens in an LMDB data file: the meta page it starts from (mdb.c of its
 * dependencies: mdb_pick_meta, mdb_env_pick_meta, and mdb_env_open's rollback to the "safe meta").
 * otsd's index is opened with lmdb-js's overlapping sync (its default on Linux), so LMDB opens it with
 * MDB_PREVSNAPSHOT: the newest meta, unless its transaction was committed without a sync on another
 * boot of the machine (or LMDB_RESTORE=safe), when it rolls back to the older one, or to the sync meta
 * lmdb-js keeps in the second half of page 0 when that is newer.
 * @module
 */
import { readFileSync } from 'node:fs';
import { MDB_OVERLAPPINGSYNC, META } from './lmdb-layout.js';

/**
 * The meta LMDB will open among meta pages 0 and 1 and lmdb-js's sync meta (`sync`, zeros when never
 * written), each META.bytes long.
 */
export function metaLmdbOpens(zero: Buffer, one: Buffer, sync: Buffer): Buffer {
  const boot = bootId();
  const safeRestore = process.env.LMDB_RESTORE === 'safe';
  const pick = (a: Buffer, b: Buffer) => {
    const txnid = (m: Buffer) => m.readBigUInt64LE(META.txnid);
    const latest = txnid(a) >= txnid(b) ? a : b;
    if (txnid(b) === 0n) return a;
    const latestBoot = latest.readBigInt64LE(META.bootId);
    const sameBoot = latestBoot !== 0n && latestBoot === boot && !safeRestore;
    if (sameBoot || (latest.readUInt16LE(META.flags) & MDB_OVERLAPPINGSYNC) === 0) return latest;
    return txnid(a) > txnid(b) ? b : a;
  };
  return pick(pick(zero, one), sync);
}

/**
 * The boot id lmdb-js compares with a meta's: strtoll(boot_id, 16) of Linux's boot id, which reads
 * its hex digits up to the first '-'; 0 where there is none.
 */
function bootId(): bigint {
  try {
    const digits = /^[0-9a-f]+/i.exec(readFileSync('/proc/sys/kernel/random/boot_id', 'latin1'));
    return digits ? BigInt(`0x${digits[0]}`) : 0n;
  } catch {
    return 0n;
  }
}
