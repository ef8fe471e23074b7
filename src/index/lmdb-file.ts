/**
 * Checking an LMDB data file before LMDB maps it. LMDB trusts its meta pages: it checks the first
 * one's magic and version only, and follows whichever meta names the newer transaction, so a damaged
 * meta page (garbage at the start of data.mdb) makes it read pages that are not there and the process
 * dies with SIGSEGV, no message. Both meta pages (and the half-page sync meta lmdb-js writes) are read
 * here as LMDB lays them out on a 64-bit little-endian machine (mdb.c: MDB_page_header, MDB_meta).
 * @module
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** LMDB's mm_magic and MDB_DATA_VERSION (the low 16 bits of mm_version). */
const MAGIC = 0xbeefc0de;
const DATA_VERSION = 2;
/** mp_flags bit of a meta page. */
const P_META = 0x08;
/** md_root of an empty database. */
const P_INVALID = 0xffff_ffff_ffff_ffffn;
/** The bytes of a meta page read: the page header (24) and MDB_meta (136). */
const META_BYTES = 160;

/** Offsets in a page holding a meta: the page header, then MDB_meta from byte 24. */
const AT = {
  pgno: 0,
  flags: 18,
  magic: 24,
  version: 28,
  /** mm_dbs[FREE_DBI].md_pad: the page size. */
  pageSize: 48,
  freeRoot: 88,
  mainRoot: 136,
  txnid: 152,
} as const;

/** Why the LMDB data file `file` must not be opened, or undefined when its meta pages check out. */
export function lmdbFileProblem(file: string): string | undefined {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return `${file} is empty`;
    const read = (offset: number) => {
      const bytes = Buffer.alloc(META_BYTES);
      return readSync(fd, bytes, 0, META_BYTES, offset) === META_BYTES ? bytes : undefined;
    };
    const first = read(0);
    if (!first) return `${file} is ${size} bytes, too short for LMDB's meta pages`;
    const pageSize = first.readUInt32LE(AT.pageSize);
    if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) {
      return `${file}: meta page 0 gives a page size of ${pageSize}`;
    }
    const pages = BigInt(Math.floor(size / pageSize));
    if (pages < 2n) return `${file} is ${size} bytes, less than its two meta pages`;
    for (const page of [0, 1]) {
      const problem = metaProblem(read(page * pageSize), page, pageSize, pages);
      if (problem) return `${file}: meta page ${page}: ${problem}`;
    }
    // lmdb-js's sync meta, in the second half of page 0, written from mm_mapsize on; zeros until used
    const sync = read(pageSize / 2);
    if (sync && sync.readBigUInt64LE(AT.txnid) !== 0n) {
      const problem = rootsProblem(sync, pages);
      if (problem) return `${file}: the sync meta in page 0: ${problem}`;
    }
    return undefined;
  } finally {
    closeSync(fd);
  }
}

function metaProblem(
  meta: Buffer | undefined,
  page: number,
  pageSize: number,
  pages: bigint,
): string | undefined {
  if (!meta) return 'cut short';
  if (meta.readBigUInt64LE(AT.pgno) !== BigInt(page))
    return `it says it is page ${meta.readBigUInt64LE(AT.pgno)}`;
  if ((meta.readUInt16LE(AT.flags) & P_META) === 0) return 'not a meta page';
  if (meta.readUInt32LE(AT.magic) !== MAGIC) return 'bad magic';
  if ((meta.readUInt32LE(AT.version) & 0xffff) !== DATA_VERSION) {
    return `data version ${meta.readUInt32LE(AT.version) & 0xffff}, not ${DATA_VERSION}`;
  }
  if (meta.readUInt32LE(AT.pageSize) !== pageSize)
    return `page size ${meta.readUInt32LE(AT.pageSize)}, not ${pageSize}`;
  return rootsProblem(meta, pages);
}

/** A root page beyond the file: LMDB would read past its map. */
function rootsProblem(meta: Buffer, pages: bigint): string | undefined {
  for (const [name, at] of [
    ['free list root', AT.freeRoot],
    ['main root', AT.mainRoot],
  ] as const) {
    const root = meta.readBigUInt64LE(at);
    if (root !== P_INVALID && (root < 2n || root >= pages))
      return `${name} ${root} outside the file's ${pages} pages`;
  }
  return undefined;
}
