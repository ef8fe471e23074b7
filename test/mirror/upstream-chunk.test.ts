/**
 * readChunk on made-up journals: an upstream chunk set against the records a mirror holds continues
 * them, ends early, is damaged (a flipped byte, a cut, too many records) or forks (a different record
 * that follows from the record before it); a first record that does not follow from the chain before
 * the chunk, with the rest following from it, is left to the chunk before to settle.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CHUNK_RECORDS } from '../../src/journal/chunk.js';
import { chainHash, frameRecord, GENESIS_CHAIN_HASH, RecordKind } from '../../src/journal/record.js';
import { readChunk } from '../../src/mirror/upstream-chunk.js';
import { concatBytes } from '../../src/ots/index.js';

/** A journal of commitment records `tag-0`, `tag-1`, ...: each record's stored bytes, and the chain hash after it. */
function journal(tag: string, count: number, from: Uint8Array = GENESIS_CHAIN_HASH) {
  const records: Uint8Array[] = [];
  const hashes: Uint8Array[] = [];
  let previous = from;
  for (let i = 0; i < count; i++) {
    const framed = frameRecord(RecordKind.Commitment, new TextEncoder().encode(`${tag}-${i}`.padEnd(32)));
    previous = chainHash(previous, framed);
    records.push(concatBytes(framed, previous));
    hashes.push(previous);
  }
  return { records, hashes, bytes: (from = 0, to = count) => concatBytes(...records.slice(from, to)) };
}

const flip = (bytes: Uint8Array, at: number) => {
  const copy = bytes.slice();
  copy[at] = (copy[at] as number) ^ 1;
  return copy;
};

const RECORD = 69; // a commitment record of 32 bytes, framed, with its chain hash

describe('an upstream chunk read against the records held', () => {
  const ours = journal('a', 10);

  it('continues them: the records held byte for byte, and fresh ones that follow', () => {
    const reading = readChunk(ours.bytes(0, 10), 0, ours.bytes(0, 6), GENESIS_CHAIN_HASH);
    assert.equal(reading.kind, 'continues');
    assert.deepEqual(reading.kind === 'continues' && reading.fresh.map((r) => r.number), [6, 7, 8, 9]);
    // nothing held: the chunk follows from the chain hash before it
    const later = readChunk(ours.bytes(4, 10), 4, new Uint8Array(0), ours.hashes[3] as Uint8Array);
    assert.equal(later.kind === 'continues' && later.fresh.length, 6);
  });

  it('ends before the last record held', () => {
    assert.deepEqual(readChunk(ours.bytes(0, 3), 0, ours.bytes(0, 6), GENESIS_CHAIN_HASH), {
      kind: 'short',
      end: 3,
    });
    assert.deepEqual(readChunk(new Uint8Array(0), 0, ours.bytes(0, 6), GENESIS_CHAIN_HASH), {
      kind: 'short',
      end: 0,
    });
  });

  it('is damaged: a flipped byte in a record held or fresh, a record cut short, too many records', () => {
    const heldFlip = readChunk(flip(ours.bytes(), 2 * RECORD + 10), 0, ours.bytes(0, 6), GENESIS_CHAIN_HASH);
    assert.equal(heldFlip.kind, 'damaged');
    assert.match(heldFlip.kind === 'damaged' ? `${heldFlip.at}: ${heldFlip.reason}` : '', /^2: chain hash/);
    const freshFlip = readChunk(flip(ours.bytes(), 8 * RECORD + 10), 0, ours.bytes(0, 6), GENESIS_CHAIN_HASH);
    assert.equal(freshFlip.kind === 'damaged' && freshFlip.at, 8);
    const cut = readChunk(ours.bytes().subarray(0, 7 * RECORD + 20), 0, ours.bytes(0, 6), GENESIS_CHAIN_HASH);
    assert.match(
      cut.kind === 'damaged' ? `${cut.at}: ${cut.reason}` : '',
      /^7: record of 69 bytes cut short/,
    );
    const cutHeld = readChunk(
      ours.bytes().subarray(0, 3 * RECORD + 20),
      0,
      ours.bytes(0, 6),
      GENESIS_CHAIN_HASH,
    );
    assert.equal(cutHeld.kind === 'damaged' && cutHeld.at, 3);
    const long = journal('b', CHUNK_RECORDS + 1);
    assert.deepEqual(readChunk(long.bytes(), 0, new Uint8Array(0), GENESIS_CHAIN_HASH), {
      kind: 'damaged',
      at: CHUNK_RECORDS,
      reason: `more than ${CHUNK_RECORDS} records`,
    });
  });

  it('forks: a different record held that follows from the one before it, from the start too', () => {
    const other = journal('b', 4, ours.hashes[4]);
    const forked = concatBytes(ours.bytes(0, 5), other.bytes());
    assert.deepEqual(readChunk(forked, 0, ours.bytes(0, 8), GENESIS_CHAIN_HASH), { kind: 'forks', at: 5 });
    assert.deepEqual(readChunk(journal('c', 3).bytes(), 0, ours.bytes(0, 2), GENESIS_CHAIN_HASH), {
      kind: 'forks',
      at: 0,
    });
    // past the records held, another history is no fork: it is checked as new records
    const beyond = readChunk(forked, 0, ours.bytes(0, 5), GENESIS_CHAIN_HASH);
    assert.equal(beyond.kind === 'continues' && beyond.fresh.length, 4);
  });

  it('leaves a first record that does not follow, the rest following from it, to the chunk before', () => {
    // the upstream's history differs before the chunk: its records follow from another chain hash
    const other = journal('b', 6, journal('x', 4).hashes[3]);
    const unlinked = readChunk(other.bytes(), 4, ours.bytes(4, 8), ours.hashes[3] as Uint8Array);
    assert.equal(unlinked.kind, 'unlinked');
    // or the first record is damaged (its stored chain hash intact)
    const flipped = readChunk(flip(ours.bytes(4, 10), 10), 4, ours.bytes(4, 8), ours.hashes[3] as Uint8Array);
    assert.equal(flipped.kind, 'unlinked');
    // damaged after the first record too, or the journal's first chunk: damaged
    const twice = flip(flip(ours.bytes(4, 10), 10), 3 * RECORD + 10);
    assert.equal(readChunk(twice, 4, ours.bytes(4, 8), ours.hashes[3] as Uint8Array).kind, 'damaged');
    assert.equal(readChunk(flip(ours.bytes(), 10), 0, ours.bytes(0, 4), GENESIS_CHAIN_HASH).kind, 'damaged');
    // its stored chain hash flipped: the record after it does not follow
    const hash = readChunk(
      flip(ours.bytes(4, 10), RECORD - 5),
      4,
      ours.bytes(4, 8),
      ours.hashes[3] as Uint8Array,
    );
    assert.equal(hash.kind === 'damaged' && hash.at, 4);
  });
});
