/**
 * Walking every tree of an LMDB data file by reading the file, before LMDB maps it. LMDB follows a
 * page number it finds in a page, or a length, checking it against nothing but the end of the
 * snapshot, if that, and trusts a page's header: a damaged one ends the process with SIGSEGV, or
 * makes every write fail with MDB_PAGE_NOTFOUND. The start's read of every entry (read-pages.ts) goes
 * through the databases, but never through the free list, which LMDB reads at the first write, nor
 * through what only a write reads in a page: this walk covers them. Each page a tree references must
 * lie in the snapshot (after the meta pages, up to mm_last_pg, inside the file), say it is that page,
 * be written by a transaction no later than the snapshot's (LMDB writes in place to a page of a later
 * one), carry exactly the flags its place calls for, hold its nodes inside itself, and be referenced
 * once; a key's duplicates inside its node (a sub-page) must fit there; each page the free list holds
 * must lie in the snapshot and in no tree ("each non-metapage up to mm_last_pg is reachable exactly
 * once in the snapshot", mdb.c; lmdb-js passes over a page freed twice, and so does this). Reads each
 * page once: a few seconds a GB.
 * @module
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import {
  DB,
  F_BIGDATA,
  F_DUPDATA,
  F_SUBDATA,
  MDB_DUPSORT,
  META,
  META_PAGES,
  NODE,
  P_BRANCH,
  P_INVALID,
  P_LEAF,
  P_LEAF2,
  P_OVERFLOW,
  P_SUBP,
  PAGE,
} from './lmdb-layout.js';
import { metaLmdbOpens } from './lmdb-snapshot.js';

/** Deeper than any LMDB tree of a file this size: a loop that the page numbers make. */
const MAX_DEPTH = 64;

/** One tree to walk: the free list, the main database, a named one, or one key's duplicates. */
interface Tree {
  name: string;
  /** md_flags: DUPSORT trees hold duplicates under their keys. */
  flags: number;
  /** md_pad: a DUPFIXED duplicates tree's value size (its P_LEAF2 pages). */
  keySize: number;
  /** md_depth: the levels of pages from its root to its leaves, which LMDB's cursors trust. */
  depth: number;
  freeList: boolean;
  duplicates: boolean;
  /** The sub-database the tree is or belongs to: its duplicates all have one size, if fixed. */
  database: { valueSize: number | undefined };
}

/** A page waiting to be read, with the tree it belongs to and its depth there. */
interface Pending {
  page: number;
  tree: Tree;
  depth: number;
}

class TreeDamage extends Error {}

/**
 * Why the snapshot LMDB opens in the data file `file` cannot be used, or undefined when every tree
 * and the free list check out. Its meta pages must have passed lmdbFileProblem. Whatever stops the
 * walk is the file's problem: it never throws.
 */
export function lmdbTreesProblem(file: string, onPage?: () => void): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const handle = fd;
    const read = (offset: number) => {
      const bytes = Buffer.alloc(META.bytes);
      readSync(handle, bytes, 0, META.bytes, offset);
      return bytes;
    };
    const pageSize = read(0).readUInt32LE(META.pageSize);
    const meta = metaLmdbOpens(read(0), read(pageSize), read(pageSize / 2));
    const filePages = Math.floor(fstatSync(fd).size / pageSize);
    new TreeWalk(fd, pageSize, filePages, meta, onPage).run();
    return undefined;
  } catch (e) {
    if (e instanceof TreeDamage) return `${file}: ${e.message}`;
    return `${file}: walking its trees failed: ${(e as Error).message}`;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

class TreeWalk {
  private readonly lastPage: number;
  private readonly txnid: bigint;
  /** A bit per page: reached from a tree. */
  private readonly used: Uint8Array;
  /** A bit per page: held by the free list. */
  private readonly free: Uint8Array;
  private readonly pending: Pending[] = [];
  private readonly page: Buffer;
  /** An overflow value's first page, read while its leaf is still in `page`. */
  private readonly overflowHead: Buffer;

  constructor(
    private readonly fd: number,
    private readonly pageSize: number,
    private readonly filePages: number,
    private readonly meta: Buffer,
    private readonly onPage: (() => void) | undefined,
  ) {
    const lastPage = meta.readBigUInt64LE(META.lastPage);
    // the file may end before mm_last_pg when free pages end it, not by more than it holds
    if (lastPage < BigInt(META_PAGES - 1) || lastPage >= BigInt(filePages) * 2n + 1024n)
      throw new TreeDamage(`the last page in use is ${lastPage}, in a file of ${filePages} pages`);
    this.lastPage = Number(lastPage);
    this.txnid = meta.readBigUInt64LE(META.txnid);
    this.used = new Uint8Array((this.lastPage >> 3) + 1);
    this.free = new Uint8Array(this.used.length);
    this.page = Buffer.alloc(pageSize);
    this.overflowHead = Buffer.alloc(pageSize);
  }

  run(): void {
    const tree = (name: string, at: number, freeList: boolean) => {
      const database = { valueSize: undefined };
      const tree = { name, flags: 0, keySize: 0, depth: 0, freeList, duplicates: false, database };
      this.plant(tree, this.meta, at);
    };
    tree('the free list', META.freeDb, true);
    tree('the main database', META.mainDb, false);
    for (let next = this.pending.pop(); next; next = this.pending.pop()) this.visit(next);
    this.checkFreePages();
  }

  /** Queues the root of the tree described by the MDB_db at `at` of `bytes` (none when it is empty). */
  private plant(tree: Tree, bytes: Buffer, at: number): void {
    const described = {
      ...tree,
      flags: bytes.readUInt16LE(at + DB.flags),
      keySize: bytes.readUInt32LE(at + DB.keySize),
      depth: bytes.readUInt16LE(at + DB.depth),
    };
    const root = bytes.readBigUInt64LE(at + DB.root);
    if (root === P_INVALID) return;
    this.pending.push({ page: this.pageNumber(root, described.name), tree: described, depth: 0 });
  }

  private visit({ page, tree, depth }: Pending): void {
    const where = `${tree.name}, page ${page}`;
    if (depth > MAX_DEPTH) throw new TreeDamage(`${where}: deeper than ${MAX_DEPTH} levels`);
    this.claim(page, 1, tree.name);
    const bytes = this.read(page, where);
    const flags = bytes.readUInt16LE(PAGE.flags);
    const lower = bytes.readUInt16LE(PAGE.lower);
    const upper = bytes.readUInt16LE(PAGE.upper);
    const room = this.pageSize - PAGE.headerBytes;
    if (lower % 2 !== 0 || lower > upper || upper > room)
      throw new TreeDamage(`${where}: its free space runs from ${lower} to ${upper} of ${room} bytes`);
    const nodes = lower >> 1;
    const leaf = flags === P_LEAF || (flags === (P_LEAF | P_LEAF2) && tree.duplicates);
    if (!leaf && flags !== P_BRANCH)
      throw new TreeDamage(
        `${where}: page flags 0x${flags.toString(16)} where a branch or leaf page belongs`,
      );
    // a cursor keeps a page per level, as many as md_depth says (mdb_rebalance copies that many)
    if (leaf ? depth + 1 !== tree.depth : depth + 1 >= tree.depth)
      throw new TreeDamage(
        `${where}: a ${leaf ? 'leaf' : 'branch'} at level ${depth + 1} of a tree of depth ${tree.depth}`,
      );
    // LMDB merges a branch below two children and a leaf with none away (mdb_rebalance); a leaf that
    // says it has none where entries were made a write end with SIGSEGV
    if (flags === P_BRANCH) {
      if (nodes < 2)
        throw new TreeDamage(`${where}: a branch page with ${nodes} child${nodes === 1 ? '' : 'ren'}`);
      for (let i = 0; i < nodes; i++) {
        const node = this.node(bytes, this.pageSize, i, upper, where);
        const child =
          bytes.readUInt16LE(node + NODE.lo) +
          bytes.readUInt16LE(node + NODE.hi) * 0x1_0000 +
          bytes.readUInt16LE(node + NODE.flags) * 0x1_0000_0000;
        this.pending.push({ page: this.pageNumber(BigInt(child), where), tree, depth: depth + 1 });
      }
    } else if (flags === P_LEAF) {
      if (nodes === 0) throw new TreeDamage(`${where}: a leaf page with no entries`);
      for (let i = 0; i < nodes; i++) {
        this.leafNode(bytes, this.node(bytes, this.pageSize, i, upper, where), tree, where);
      }
    } else if (flags === (P_LEAF | P_LEAF2) && tree.duplicates) {
      this.values(nodes, tree.keySize, room, tree, where);
    } else {
      throw new TreeDamage(
        `${where}: page flags 0x${flags.toString(16)} where a branch or leaf page belongs`,
      );
    }
  }

  /**
   * The offset of node `i` of the page (or sub-page) in `bytes`, `end` bytes long, whose header and
   * key lie in it.
   */
  private node(bytes: Buffer, end: number, i: number, upper: number, where: string): number {
    const offset = bytes.readUInt16LE(PAGE.headerBytes + 2 * i);
    const node = PAGE.headerBytes + offset;
    if (offset < upper || node + NODE.headerBytes > end)
      throw new TreeDamage(`${where}: node ${i} at ${offset}, outside the page's nodes`);
    if (node + NODE.headerBytes + bytes.readUInt16LE(node + NODE.keySize) > end)
      throw new TreeDamage(`${where}: node ${i}'s key runs past the page`);
    return node;
  }

  /** `count` packed values of `size` bytes in `room`: the size every duplicate of the database has. */
  private values(count: number, size: number, room: number, tree: Tree, where: string): void {
    tree.database.valueSize ??= size;
    if (size !== tree.database.valueSize || size === 0 || count * size > room)
      throw new TreeDamage(
        `${where}: ${count} values of ${size} bytes in ${room}, in a database of ${tree.database.valueSize}-byte values`,
      );
  }

  /** A leaf node: its value in the page or on overflow pages, a sub-database, or a key's duplicates. */
  private leafNode(bytes: Buffer, node: number, tree: Tree, where: string): void {
    if (tree.duplicates) return; // a duplicate is a key alone
    const flags = bytes.readUInt16LE(node + NODE.flags);
    const size = bytes.readUInt16LE(node + NODE.lo) + bytes.readUInt16LE(node + NODE.hi) * 0x1_0000;
    const data = node + NODE.headerBytes + bytes.readUInt16LE(node + NODE.keySize);
    const inPage = flags & F_BIGDATA ? 8 : size;
    if (data + inPage > this.pageSize)
      throw new TreeDamage(`${where}: a value of ${inPage} bytes runs past the page`);
    if (flags & F_BIGDATA) {
      const first = this.overflow(bytes.readBigUInt64LE(data), size, tree.name);
      if (tree.freeList) {
        const value = Buffer.alloc(size);
        readSync(this.fd, value, 0, size, first * this.pageSize + PAGE.headerBytes);
        this.takeFreePages(value, where);
      }
      return;
    }
    const value = bytes.subarray(data, data + size);
    if (tree.freeList) {
      this.takeFreePages(value, where);
      return;
    }
    const duplicates = (flags & F_DUPDATA) !== 0;
    if (duplicates && (tree.flags & MDB_DUPSORT) === 0)
      throw new TreeDamage(`${where}: duplicates in a database that holds none`);
    if (flags & F_SUBDATA) {
      if (size !== DB.bytes) throw new TreeDamage(`${where}: a tree's description of ${size} bytes`);
      const key = bytes.toString('latin1', node + NODE.headerBytes, data).replace(/\0$/, '');
      const name = duplicates ? `${tree.name}, a key's duplicates` : `sub-database ${key}`;
      const database = duplicates ? tree.database : { valueSize: undefined };
      const described = { name, flags: 0, keySize: 0, depth: 0, freeList: false, duplicates, database };
      this.plant(described, Buffer.from(value), 0);
    } else if (duplicates) {
      this.subPage(value, tree, `${where}, a key's duplicates in its node`);
    }
  }

  /** A key's duplicates held in its node: a page of their own, no bigger than the node's value. */
  private subPage(bytes: Buffer, tree: Tree, where: string): void {
    const end = bytes.length;
    if (end < PAGE.headerBytes) throw new TreeDamage(`${where}: ${end} bytes, less than a page header`);
    const flags = bytes.readUInt16LE(PAGE.flags);
    const lower = bytes.readUInt16LE(PAGE.lower);
    const upper = bytes.readUInt16LE(PAGE.upper);
    const room = end - PAGE.headerBytes;
    if (lower % 2 !== 0 || lower > upper || upper > room)
      throw new TreeDamage(`${where}: its free space runs from ${lower} to ${upper} of ${room} bytes`);
    const nodes = lower >> 1;
    if (flags === (P_LEAF | P_SUBP | P_LEAF2)) {
      this.values(nodes, bytes.readUInt16LE(PAGE.pad), room, tree, where);
    } else if (flags === (P_LEAF | P_SUBP)) {
      for (let i = 0; i < nodes; i++) this.node(bytes, end, i, upper, where);
    } else {
      throw new TreeDamage(`${where}: page flags 0x${flags.toString(16)} where a sub-page belongs`);
    }
  }

  /** Claims the overflow pages holding a value of `size` bytes from page `first`; returns its number. */
  private overflow(first: bigint, size: number, treeName: string): number {
    const where = `${treeName}, overflow page ${first}`;
    const page = this.pageNumber(first, where);
    const pages = Math.floor((PAGE.headerBytes - 1 + size) / this.pageSize) + 1;
    this.claim(page, pages, treeName);
    const head = this.read(page, where, this.overflowHead);
    if (head.readUInt16LE(PAGE.flags) !== P_OVERFLOW) throw new TreeDamage(`${where}: not an overflow page`);
    if (head.readUInt32LE(PAGE.pages) < pages)
      throw new TreeDamage(`${where}: ${head.readUInt32LE(PAGE.pages)} pages for ${size} bytes`);
    return page;
  }

  /**
   * A free list record: pages freed by a transaction or kept for reuse, in lmdb-js's form of an
   * MDB_IDL (midl.c): a count of slots, then each slot a page number, 0 for an empty one, or -n before
   * the first page of n in a row.
   */
  private takeFreePages(value: Buffer, where: string): void {
    if (value.length < 8 || value.length % 8 !== 0)
      throw new TreeDamage(`${where}: a free list record of ${value.length} bytes`);
    const slots = value.readBigUInt64LE(0);
    if (slots > BigInt(value.length / 8 - 1))
      throw new TreeDamage(`${where}: a free list record of ${slots} slots in ${value.length} bytes`);
    for (let i = 1; i <= Number(slots); i++) {
      const slot = value.readBigInt64LE(i * 8);
      if (slot === 0n) continue;
      const run = slot < 0n ? -slot : 1n;
      const first = slot < 0n ? (i < Number(slots) ? value.readBigInt64LE(++i * 8) : 0n) : slot;
      if (first < BigInt(META_PAGES) || first + run - 1n > BigInt(this.lastPage))
        throw new TreeDamage(
          `${where}: free pages ${first}..${first + run - 1n}, outside pages 2..${this.lastPage}`,
        );
      for (let page = Number(first); page < Number(first + run); page++) {
        this.free[page >> 3] = (this.free[page >> 3] as number) | (1 << (page & 7));
      }
    }
  }

  /** No free page is in a tree (LMDB would write over it). */
  private checkFreePages(): void {
    for (let byte = 0; byte < this.free.length; byte++) {
      const both = (this.free[byte] as number) & (this.used[byte] as number);
      if (both !== 0) {
        const page = byte * 8 + Math.log2(both & -both);
        throw new TreeDamage(`the free list holds page ${page}, which a tree holds`);
      }
    }
  }

  /** A page number that a tree may reference: in the snapshot, and in the file. */
  private pageNumber(page: bigint, where: string): number {
    if (page < BigInt(META_PAGES) || page > BigInt(this.lastPage) || page >= BigInt(this.filePages))
      throw new TreeDamage(
        `${where}: page ${page} referenced, outside pages 2..${this.lastPage} of a file of ${this.filePages}`,
      );
    return Number(page);
  }

  /** Marks pages `first`.. as reached, each for the first time, inside the snapshot and the file. */
  private claim(first: number, pages: number, treeName: string): void {
    if (first + pages - 1 > this.lastPage || first + pages > this.filePages)
      throw new TreeDamage(
        `${treeName}: pages ${first}..${first + pages - 1} run past the snapshot or the file`,
      );
    for (let page = first; page < first + pages; page++) {
      if (((this.used[page >> 3] as number) & (1 << (page & 7))) !== 0)
        throw new TreeDamage(`${treeName}: page ${page} is referenced twice`);
      this.used[page >> 3] = (this.used[page >> 3] as number) | (1 << (page & 7));
    }
  }

  /**
   * Page `page`'s bytes in `into` (overwritten by the next read there), which must say it is that
   * page, written no later than the snapshot.
   */
  private read(page: number, where: string, into = this.page): Buffer {
    const read = readSync(this.fd, into, 0, this.pageSize, page * this.pageSize);
    this.onPage?.();
    if (read !== this.pageSize) throw new TreeDamage(`${where}: cut short by the end of the file`);
    const says = into.readBigUInt64LE(PAGE.pgno);
    if (says !== BigInt(page)) throw new TreeDamage(`${where}: it says it is page ${says}`);
    const txnid = into.readBigUInt64LE(PAGE.txnid);
    if (txnid > this.txnid)
      throw new TreeDamage(`${where}: written by transaction ${txnid}, after the snapshot's ${this.txnid}`);
    return into;
  }
}
