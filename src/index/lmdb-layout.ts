/**
 * LMDB's data file as lmdb-js's LMDB lays it out on a 64-bit little-endian machine (mdb.c of its
 * dependencies: MDB_page_header, MDB_node, MDB_db, MDB_meta): the offsets the start's checks read
 * before LMDB maps the file (lmdb-file.ts, lmdb-trees.ts).
 * @module
 */

/** LMDB's mm_magic and MDB_DATA_VERSION (the low 16 bits of mm_version). */
export const MAGIC = 0xbeefc0de;
export const DATA_VERSION = 2;
/** Pages 0 and 1 hold the meta pages; a tree's pages come after. */
export const META_PAGES = 2;
/** md_root of an empty database. */
export const P_INVALID = 0xffff_ffff_ffff_ffffn;

/** MDB_page_header: 24 bytes; a page's contents follow, node offsets counted from its end. */
export const PAGE = {
  pgno: 0,
  /** The transaction that wrote the page: never after the snapshot's (a later one is LMDB's own, dirty). */
  txnid: 8,
  /** A LEAF2 page's value size. */
  pad: 16,
  flags: 18,
  /** Twice the number of nodes. */
  lower: 20,
  upper: 22,
  /** An overflow page's count of pages, in place of lower and upper. */
  pages: 20,
  headerBytes: 24,
} as const;

/** mp_flags. */
export const P_BRANCH = 0x01;
export const P_LEAF = 0x02;
export const P_OVERFLOW = 0x04;
export const P_META = 0x08;
/** A leaf of packed keys of one size, no nodes (a DUPFIXED key's duplicates). */
export const P_LEAF2 = 0x20;
/** A sub-page: a key's few duplicates, inside its leaf node. */
export const P_SUBP = 0x40;

/** MDB_node: the data size (leaf) or child page (branch) in lo, hi and flags; the key, then the data. */
export const NODE = { lo: 0, hi: 2, flags: 4, keySize: 6, headerBytes: 8 } as const;

/** mn_flags of a leaf node. */
export const F_BIGDATA = 0x01;
export const F_SUBDATA = 0x02;
export const F_DUPDATA = 0x04;

/** MDB_db: a tree's description, in a meta page or a node's data. */
export const DB = { keySize: 0, flags: 4, depth: 6, root: 40, bytes: 48 } as const;
/** md_flags: a key holds many sorted values, in a sub-page or a tree of their own. */
export const MDB_DUPSORT = 0x04;

/** Offsets in a meta page: the page header, then MDB_meta from byte 24. */
export const META = {
  magic: 24,
  version: 28,
  /** mm_dbs[FREE_DBI].md_pad: the page size. */
  pageSize: 48,
  /** mm_dbs[FREE_DBI].md_flags: the environment's flags (MDB_OVERLAPPINGSYNC: committed unsynced). */
  flags: 52,
  freeDb: 48,
  mainDb: 96,
  lastPage: 144,
  txnid: 152,
  /** lmdb-js: the boot of the machine that wrote it (the first 8 hex digits of Linux's boot_id). */
  bootId: 160,
  /** The bytes of a meta page read: the page header (24) and MDB_meta (144). */
  bytes: 168,
} as const;

/** A meta's flag: its transaction was committed without a sync (lmdb-js's overlapping sync). */
export const MDB_OVERLAPPINGSYNC = 0x1000;
