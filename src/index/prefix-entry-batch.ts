/**
 * The prefix entries of an index transaction's new commitments, put into LMDB at its end in key order
 * rather than one by one as they come. A calendar's commitments are round tips, uniform: put in record
 * order, each lands on another page of the prefixes; sorted, a transaction's puts walk the pages once
 * (a mirror's group of 32,768: 1.3 us a put against 1.9 us, most of a sync's index time). The sort is a
 * counting sort on the 2-byte key, over typed arrays. Until they are put, the batch answers for them:
 * the entries sharing a commitment's prefix, through a PrefixTable.
 * @module
 */
import type { IndexDatabase } from './index-view.js';
import { ENTRY_BYTES, KEY_BYTES, VALUE_BYTES, valueRecord, writePrefixEntry } from './prefix-entry.js';
import { PrefixTable } from './prefix-table.js';

/** Entries room is made for at first; it doubles when full. */
const FIRST_ENTRIES = 1024;
const KEYS = 2 ** (8 * KEY_BYTES);
/** Entries from which a batch is put sorted. */
const SORTED_FROM = 256;

export class PrefixEntryBatch {
  /** The entries in the order added, ENTRY_BYTES each: a key, then its value. */
  private entries = Buffer.alloc(FIRST_ENTRIES * ENTRY_BYTES);
  /** For each entry, the one added before it with the same prefix, plus one (0: none). */
  private earlier = new Uint32Array(FIRST_ENTRIES);
  private size = 0;
  /** Each prefix's last entry, plus one. */
  private readonly last = new PrefixTable();
  /** Written into for each put, which copies them. */
  private readonly key = Buffer.allocUnsafe(KEY_BYTES);
  private readonly value = Buffer.allocUnsafe(VALUE_BYTES);

  /** The entry of `commitment`, first held by record `n`. */
  add(commitment: Uint8Array, n: number): void {
    if (this.size === this.earlier.length) this.grow();
    writePrefixEntry(commitment, n, this.entries, this.size * ENTRY_BYTES);
    this.earlier[this.size] = this.last.get(commitment);
    this.size++;
    this.last.set(commitment, this.size);
  }

  /** The record numbers of the entries with the prefix of `commitment`, the last added first. */
  *recordsSharing(commitment: Uint8Array): Generator<number> {
    if (this.size === 0) return;
    for (let next = this.last.get(commitment); next !== 0; next = this.earlier[next - 1] as number) {
      yield valueRecord(this.entries, (next - 1) * ENTRY_BYTES + KEY_BYTES);
    }
  }

  /** Puts every entry into `db` (in its write transaction), by key, and empties the batch. */
  putInto(db: IndexDatabase): void {
    if (this.size === 0) return;
    // a counting sort on the key: where each key's entries start, then each entry in its place (a
    // few entries, a calendar's round, go as they came: the sort's pass over every key costs more)
    const starts = this.size < SORTED_FROM ? undefined : new Uint32Array(KEYS + 1);
    if (!starts) {
      for (let i = 0; i < this.size; i++) this.put(db, i);
      this.clear();
      return;
    }
    for (let i = 0; i < this.size; i++) (starts[this.keyOf(i) + 1] as number)++;
    for (let k = 1; k <= KEYS; k++) starts[k] = (starts[k] as number) + (starts[k - 1] as number);
    const order = new Uint32Array(this.size);
    for (let i = 0; i < this.size; i++) {
      const k = this.keyOf(i);
      order[starts[k] as number] = i;
      starts[k] = (starts[k] as number) + 1;
    }
    for (let j = 0; j < this.size; j++) this.put(db, order[j] as number);
    this.clear();
  }

  /** Puts entry `i` into `db`. */
  private put(db: IndexDatabase, i: number): void {
    const { entries, key, value } = this;
    const at = i * ENTRY_BYTES;
    for (let b = 0; b < KEY_BYTES; b++) key[b] = entries[at + b] as number;
    for (let b = 0; b < value.length; b++) value[b] = entries[at + KEY_BYTES + b] as number;
    db.put(key, value);
  }

  /** Forgets every entry (its transaction did not commit, or they are put). */
  clear(): void {
    this.size = 0;
    this.last.clear();
  }

  /** Entry `i`'s key as a number. */
  private keyOf(i: number): number {
    const at = i * ENTRY_BYTES;
    let key = 0;
    for (let b = 0; b < KEY_BYTES; b++) key = key * 256 + (this.entries[at + b] as number);
    return key;
  }

  private grow(): void {
    const entries = Buffer.alloc(2 * this.entries.length);
    this.entries.copy(entries);
    this.entries = entries;
    const earlier = new Uint32Array(2 * this.earlier.length);
    earlier.set(this.earlier);
    this.earlier = earlier;
  }
}
