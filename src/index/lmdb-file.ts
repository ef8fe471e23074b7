/**
 * Checking an LMDB data file before LMDB maps it. LMDB trusts its meta pages: it checks the first
 * one's magic and version only, and follows whichever meta names the newer transaction, so a damaged
 * meta page (garbage at the start of data.mdb) makes it read pages that are not there and the process
 * dies with SIGSEGV, no message. Both meta pages (and the half-page sync meta lmdb-js writes) are read
 * here; then the trees they lead to can be (lmdb-trees.ts).
 * @module
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { DATA_VERSION, DB, MAGIC, META, META_PAGES, P_INVALID, P_META, PAGE } from './lmdb-layout.js';

/** Why the LMDB data file `file` must not be opened, or undefined when its meta pages check out. */
export function lmdbFileProblem(file: string): string | undefined {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return `${file} is empty`;
    const read = (offset: number) => {
      const bytes = Buffer.alloc(META.bytes);
      return readSync(fd, bytes, 0, META.bytes, offset) === META.bytes ? bytes : undefined;
    };
    const first = read(0);
    if (!first) return `${file} is ${size} bytes, too short for LMDB's meta pages`;
    const pageSize = first.readUInt32LE(META.pageSize);
    if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) {
      return `${file}: meta page 0 gives a page size of ${pageSize}`;
    }
    const pages = Math.floor(size / pageSize);
    if (pages < META_PAGES) return `${file} is ${size} bytes, less than its two meta pages`;
    for (const page of [0, 1]) {
      const problem = metaProblem(read(page * pageSize), page, pageSize, pages);
      if (problem) return `${file}: meta page ${page}: ${problem}`;
    }
    // lmdb-js's sync meta, in the second half of page 0, written from mm_mapsize on; zeros until used
    const sync = read(pageSize / 2);
    if (sync && sync.readBigUInt64LE(META.txnid) !== 0n) {
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
  pages: number,
): string | undefined {
  if (!meta) return 'cut short';
  if (meta.readBigUInt64LE(PAGE.pgno) !== BigInt(page))
    return `it says it is page ${meta.readBigUInt64LE(PAGE.pgno)}`;
  if ((meta.readUInt16LE(PAGE.flags) & P_META) === 0) return 'not a meta page';
  if (meta.readUInt32LE(META.magic) !== MAGIC) return 'bad magic';
  if ((meta.readUInt32LE(META.version) & 0xffff) !== DATA_VERSION) {
    return `data version ${meta.readUInt32LE(META.version) & 0xffff}, not ${DATA_VERSION}`;
  }
  if (meta.readUInt32LE(META.pageSize) !== pageSize)
    return `page size ${meta.readUInt32LE(META.pageSize)}, not ${pageSize}`;
  return rootsProblem(meta, pages);
}

/** A root page beyond the file: LMDB would read past its map. */
function rootsProblem(meta: Buffer, pages: number): string | undefined {
  for (const [name, at] of [
    ['free list root', META.freeDb],
    ['main root', META.mainDb],
  ] as const) {
    const root = meta.readBigUInt64LE(at + DB.root);
    if (root !== P_INVALID && (root < BigInt(META_PAGES) || root >= BigInt(pages)))
      return `${name} ${root} outside the file's ${pages} pages`;
  }
  return undefined;
}
