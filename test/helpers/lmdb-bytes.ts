/**
 * The bytes of an LMDB data file, read as the start's walk reads them (src/index/lmdb-layout.ts):
 * for tests that damage a page where LMDB lays it out.
 * @module
 */
import assert from 'node:assert/strict';
import {
  DB,
  F_BIGDATA,
  F_DUPDATA,
  F_SUBDATA,
  META,
  NODE,
  P_BRANCH,
  P_LEAF,
  PAGE,
} from '../../src/index/lmdb-layout.js';

/** An LMDB data file's bytes, changed in place. */
export class LmdbBytes {
  readonly pageSize: number;
  constructor(readonly bytes: Buffer) {
    this.pageSize = bytes.readUInt32LE(META.pageSize);
  }
  /** The offset of the meta LMDB opens (the newer transaction). */
  get meta(): number {
    const txnid = (page: number) => this.bytes.readBigUInt64LE(page * this.pageSize + META.txnid);
    return txnid(0) >= txnid(1) ? 0 : this.pageSize;
  }
  get lastPage(): number {
    return Number(this.bytes.readBigUInt64LE(this.meta + META.lastPage));
  }
  root(db: number): number {
    return Number(this.bytes.readBigUInt64LE(this.meta + db + DB.root));
  }
  at(page: number): number {
    return page * this.pageSize;
  }
  flags(page: number): number {
    return this.bytes.readUInt16LE(this.at(page) + PAGE.flags);
  }
  /** Offsets in the file of page `page`'s nodes. */
  nodes(page: number): number[] {
    const start = this.at(page);
    const count = this.bytes.readUInt16LE(start + PAGE.lower) >> 1;
    return Array.from(
      { length: count },
      (_, i) => start + PAGE.headerBytes + this.bytes.readUInt16LE(start + PAGE.headerBytes + 2 * i),
    );
  }
  /** The offset of a leaf node's value. */
  value(node: number): number {
    return node + NODE.headerBytes + this.bytes.readUInt16LE(node + NODE.keySize);
  }
  /** The root page of sub-database `name`, from the main database's leaf. */
  subDatabaseRoot(name: string): number {
    return Number(this.bytes.readBigUInt64LE(this.subDatabase(name) + DB.root));
  }

  /** The offset of sub-database `name`'s description (an MDB_db) in the main database's leaf. */
  subDatabase(name: string): number {
    const main = this.root(META.mainDb);
    assert.equal(this.flags(main) & P_LEAF, P_LEAF, 'the main database is one leaf page');
    for (const node of this.nodes(main)) {
      const key = this.bytes.toString('latin1', node + NODE.headerBytes, this.value(node));
      if (key.replace(/\0$/, '') === name) return this.value(node);
    }
    throw new Error(`no sub-database ${name}`);
  }

  /** The offset of the node of the first free list record its leaf page holds. */
  freeRecordNode(): number {
    const root = this.root(META.freeDb);
    assert.equal(this.flags(root) & P_LEAF, P_LEAF, 'the free list is one leaf page');
    for (const node of this.nodes(root)) {
      const inPage = (this.bytes.readUInt16LE(node + NODE.flags) & F_BIGDATA) === 0;
      if (inPage && this.bytes.readBigUInt64LE(this.value(node)) > 0n) return node;
    }
    throw new Error('no free list record in the leaf');
  }

  /** The offset of the first page number in that record. */
  freeSlot(): number {
    return this.value(this.freeRecordNode()) + 8;
  }

  /** The offset of the first key's duplicates held in its node (a sub-page) in a leaf of `name`. */
  subPage(name: string): number {
    const pending = [this.subDatabaseRoot(name)];
    for (let page = pending.pop(); page !== undefined; page = pending.pop()) {
      for (const node of this.nodes(page)) {
        if (this.flags(page) === P_BRANCH) {
          pending.push(Number(this.bytes.readBigUInt64LE(node) & 0xffff_ffff_ffffn));
        } else if ((this.bytes.readUInt16LE(node + NODE.flags) & (F_DUPDATA | F_SUBDATA)) === F_DUPDATA) {
          return this.value(node);
        }
      }
    }
    throw new Error(`no sub-page in ${name}`);
  }
}
