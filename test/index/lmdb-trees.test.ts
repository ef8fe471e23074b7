/**
 * The start's walk of an index's LMDB trees and free list (src/index/lmdb-trees.ts): a sound index
 * passes, each kind of damage it looks for is named, and random damage never makes it throw. The
 * damage is made where LMDB lays it out (src/index/lmdb-layout.ts), in a copy of a real index.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Calendar } from '../../src/calendar/calendar.js';
import { lmdbFileProblem } from '../../src/index/lmdb-file.js';
import { DB, META, NODE, P_BRANCH, P_SUBP, PAGE } from '../../src/index/lmdb-layout.js';
import { lmdbTreesProblem } from '../../src/index/lmdb-trees.js';
import { sha256 } from '../../src/ots/index.js';
import { LmdbBytes } from '../helpers/lmdb-bytes.js';

const URI = 'http://127.0.0.1:14789';

describe('the walk of an index file’s trees and free list', () => {
  const dir = mkdtempSync(join(tmpdir(), 'otsd-lmdb-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  let sound: string;

  before(async () => {
    const dataDir = join(dir, 'calendar');
    const calendar = await Calendar.open({ dataDir, uri: URI, create: true });
    // enough for branch pages, and commits one at a time for a free list
    for (let i = 0; i < 600; i++) await calendar.commit(sha256(new Uint8Array([7, i & 0xff, i >> 8])));
    await calendar.close();
    sound = join(dataDir, 'index', 'data.mdb');
  });

  /** A copy of the sound file, changed by `damage`; its problem. */
  function damaged(damage: (lmdb: LmdbBytes) => void): string | undefined {
    const lmdb = new LmdbBytes(readFileSync(sound));
    damage(lmdb);
    const file = join(dir, 'damaged.mdb');
    writeFileSync(file, lmdb.bytes);
    return lmdbFileProblem(file) ?? lmdbTreesProblem(file);
  }

  it('passes a sound index', () => {
    assert.equal(lmdbTreesProblem(sound), undefined);
  });

  it('finds a free list root outside the snapshot (LMDB: "page not found" at every write)', () => {
    const problem = damaged((lmdb) =>
      lmdb.bytes.writeBigUInt64LE(BigInt(lmdb.lastPage + 1), lmdb.meta + META.freeDb + DB.root),
    );
    // the meta pages' check finds it when the file ends there, the walk when free pages follow
    assert.match(problem ?? '', /free list root \d+ outside|the free list: page \d+ referenced, outside/);
  });

  it('finds a free list root that is a page of another tree', () => {
    const problem = damaged((lmdb) =>
      lmdb.bytes.writeBigUInt64LE(BigInt(lmdb.root(META.mainDb)), lmdb.meta + META.freeDb + DB.root),
    );
    assert.match(problem ?? '', /page \d+ is referenced twice/);
  });

  it('finds a free page outside the snapshot', () => {
    const problem = damaged((lmdb) =>
      lmdb.bytes.writeBigUInt64LE(BigInt(lmdb.lastPage + 5), lmdb.freeSlot()),
    );
    assert.match(problem ?? '', /the free list, page \d+: free pages \d+\.\.\d+, outside pages/);
  });

  it('finds a free page that a tree holds (LMDB would write over it)', () => {
    const problem = damaged((lmdb) =>
      lmdb.bytes.writeBigUInt64LE(BigInt(lmdb.root(META.mainDb)), lmdb.freeSlot()),
    );
    assert.match(problem ?? '', /the free list holds page \d+, which a tree holds/);
  });

  it('finds a page that says it is another', () => {
    const problem = damaged((lmdb) => {
      const page = lmdb.subDatabaseRoot('positions');
      lmdb.bytes.writeBigUInt64LE(BigInt(page + 1000), lmdb.at(page) + PAGE.pgno);
    });
    assert.match(problem ?? '', /sub-database positions, page \d+: it says it is page \d+/);
  });

  it('finds a page that two branch nodes reference', () => {
    const problem = damaged((lmdb) => {
      const root = lmdb.subDatabaseRoot('commitment-prefixes');
      assert.equal(lmdb.flags(root) & P_BRANCH, P_BRANCH, 'commitment-prefixes has a branch page');
      const [first, second] = lmdb.nodes(root) as [number, number];
      lmdb.bytes.copy(lmdb.bytes, second, first, first + 6); // the child's page number
    });
    assert.match(problem ?? '', /sub-database commitment-prefixes: page \d+ is referenced twice/);
  });

  it('finds a node outside its page', () => {
    const problem = damaged((lmdb) => {
      const page = lmdb.subDatabaseRoot('meta');
      lmdb.bytes.writeUInt16LE(lmdb.pageSize - 2, lmdb.at(page) + PAGE.headerBytes);
    });
    assert.match(problem ?? '', /sub-database meta, page \d+: node 0/);
  });

  it('finds a page written by a transaction after the snapshot’s (LMDB would write to it in place)', () => {
    const problem = damaged((lmdb) => {
      const page = lmdb.subDatabaseRoot('commitment-prefixes');
      const txnid = lmdb.bytes.readBigUInt64LE(lmdb.meta + META.txnid);
      lmdb.bytes.writeBigUInt64LE(txnid + 1000n, lmdb.at(page) + PAGE.txnid);
    });
    assert.match(problem ?? '', /page \d+: written by transaction \d+, after the snapshot's \d+/);
  });

  it('finds a page carrying a flag its place does not call for', () => {
    const problem = damaged((lmdb) => {
      const page = lmdb.root(META.mainDb);
      lmdb.bytes.writeUInt16LE(lmdb.flags(page) | P_SUBP, lmdb.at(page) + PAGE.flags);
    });
    assert.match(
      problem ?? '',
      /the main database, page \d+: page flags 0x42 where a branch or leaf page belongs/,
    );
  });

  it('finds a key’s duplicates in its node that claim another value size than the database’s', () => {
    const problem = damaged((lmdb) =>
      lmdb.bytes.writeUInt16LE(2057, lmdb.subPage('commitment-prefixes') + PAGE.pad),
    );
    assert.match(problem ?? '', /a key's duplicates in its node: \d+ values of 2057 bytes in \d+/);
  });

  it('finds a free list record whose length is no whole number of page numbers', () => {
    const problem = damaged((lmdb) => {
      const node = lmdb.freeRecordNode();
      lmdb.bytes.writeUInt16LE(lmdb.bytes.readUInt16LE(node + NODE.lo) - 1, node + NODE.lo);
    });
    assert.match(problem ?? '', /the free list, page \d+: a free list record of \d+ bytes/);
  });

  it('finds a leaf page that says it holds no entries (LMDB: SIGSEGV at a write)', () => {
    const problem = damaged((lmdb) =>
      lmdb.bytes.writeUInt16LE(0, lmdb.at(lmdb.root(META.freeDb)) + PAGE.lower),
    );
    assert.match(problem ?? '', /the free list, page \d+: a leaf page with no entries/);
  });

  it('finds a branch page that says it has one child', () => {
    const problem = damaged((lmdb) =>
      lmdb.bytes.writeUInt16LE(2, lmdb.at(lmdb.subDatabaseRoot('commitment-prefixes')) + PAGE.lower),
    );
    assert.match(problem ?? '', /sub-database commitment-prefixes, page \d+: a branch page with 1 child/);
  });

  it('finds a tree deeper or shallower than its description says (LMDB’s cursors trust md_depth)', () => {
    const problem = damaged((lmdb) =>
      lmdb.bytes.writeUInt16LE(60_000, lmdb.subDatabase('commitment-prefixes') + DB.depth),
    );
    assert.match(
      problem ?? '',
      /sub-database commitment-prefixes, page \d+: a leaf at level 2 of a tree of depth 60000/,
    );
  });

  it('never throws on random damage: a bit flipped, or a run of bytes overwritten, anywhere', () => {
    const bytes = readFileSync(sound);
    const file = join(dir, 'fuzzed.mdb');
    let found = 0;
    for (let i = 0; i < 400; i++) {
      const copy = Buffer.from(bytes);
      const at = Math.floor(Math.random() * copy.length);
      if (i % 2 === 0) copy[at] = (copy[at] as number) ^ (1 << (i % 8));
      else copy.fill(i & 0xff, at, Math.min(copy.length, at + 1 + (i % 64)));
      writeFileSync(file, copy);
      const problem = lmdbFileProblem(file) ?? lmdbTreesProblem(file);
      if (problem) found++;
    }
    assert.ok(found > 0, 'some of the damage is found');
  });
});
