/**
 * The timestamp tree (python-opentimestamps `core/timestamp.py`): a message, the attestations that
 * attest to it, and ops leading to child timestamps of the op results.
 *
 * Wire grammar, as the reference reads and writes it:
 * ```
 * node  := ( 0xff child )* child
 * child := 0x00 attestation | op node
 * ```
 * Writing is canonical (attestations sorted, then ops sorted), so our bytes equal the reference's.
 * @module
 */
import type { Attestation } from './attestation.js';
import { ATTESTATION_TAG_LENGTH, Attestation as AttestationReader } from './attestation.js';
import { equalBytes, toHex } from './bytes.js';
import { DeserializationError, MsgValueError, OtsValueError, RecursionLimitError } from './errors.js';
import { BinaryOp, isResultOf, MAX_MSG_LENGTH, Op } from './op.js';
import { Reader, varUintLength, Writer } from './serialize.js';

/** Nesting limit of the reference's parser: a path of 255 ops parses, 256 do not. */
export const RECURSION_LIMIT = 256;

/**
 * Default bound on the sum of all message lengths a parse may materialize. Not a reference limit: it
 * stops a small input from expanding into gigabytes (every `append 1 byte` may copy 4 KiB). Real
 * proofs use a few kilobytes.
 */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

export interface TimestampReadOptions {
  maxMessageBytes?: number;
}

const ATTESTATION_MARKER = 0x00;
const FORK_MARKER = 0xff;

/**
 * Up to this many children, a node finds a duplicate by comparing values, which costs nothing to set
 * up; almost every node of a real proof has one or two. A wider node (a merged or hostile tree can
 * have thousands) builds a map from value keys, so that adding stays O(1) per child.
 */
const SCAN_LIMIT = 8;

/**
 * What every empty set holds. Never written: `put` replaces it at the first entry. Not frozen, as a
 * frozen array takes V8's slow paths in `slice` and `sort`, which serialization calls per node.
 */
const NO_ENTRIES: readonly never[] = [];

/**
 * Entries unique by value, in insertion order, on a plain array rather than a Map keyed by strings:
 * building a key (a hex string of a 32-byte argument) cost more than a parse's hashing. The map from
 * keys to positions exists only once a set outgrows SCAN_LIMIT. Nothing is removed: positions stay.
 */
abstract class UniqueEntries<T extends { readonly key: string; equals(other: T): boolean }, E> {
  // Most sets of a tree stay empty, so the array is made at the first entry, with room for one.
  protected entries: E[] = NO_ENTRIES as unknown as E[];
  private index: Map<string, number> | undefined;

  protected abstract valueOf(entry: E): T;

  get size(): number {
    return this.entries.length;
  }

  /** A copy of the entries in `compare`'s order; most sets have one entry, which needs no sort. */
  protected sortedEntries(compare: (a: E, b: E) => number): E[] {
    const copy = this.entries.slice();
    return copy.length > 1 ? copy.sort(compare) : copy;
  }

  /** Position of the entry whose value equals `value`, or -1. */
  protected find(value: T): number {
    if (this.index) return this.index.get(value.key) ?? -1;
    const entries = this.entries;
    for (let i = 0; i < entries.length; i++) if (this.valueOf(entries[i] as E).equals(value)) return i;
    return -1;
  }

  /** Sets the entry of `value`, in place of an equal value's, else at the end. */
  protected put(value: T, entry: E): void {
    const at = this.find(value);
    if (at >= 0) {
      this.entries[at] = entry;
      return;
    }
    if (this.entries.length === 0) this.entries = [entry];
    else this.entries.push(entry);
    if (this.index) this.index.set(value.key, this.entries.length - 1);
    else if (this.entries.length > SCAN_LIMIT) {
      this.index = new Map(this.entries.map((e, i) => [this.valueOf(e).key, i]));
    }
  }
}

/** The attestations of one node, unique by value. */
export class AttestationSet extends UniqueEntries<Attestation, Attestation> implements Iterable<Attestation> {
  protected valueOf(entry: Attestation): Attestation {
    return entry;
  }
  add(attestation: Attestation): void {
    if (this.find(attestation) < 0) this.put(attestation, attestation);
  }
  has(attestation: Attestation): boolean {
    return this.find(attestation) >= 0;
  }
  [Symbol.iterator](): Iterator<Attestation> {
    return this.entries.values();
  }
  /** In the reference's canonical order. */
  sorted(): Attestation[] {
    return this.sortedEntries((a, b) => a.compare(b));
  }
}

/** The op edges of one node: at most one child per distinct op. */
export class OpSet extends UniqueEntries<Op, [Op, Timestamp]> implements Iterable<[Op, Timestamp]> {
  private readonly msg: Uint8Array;

  constructor(msg: Uint8Array) {
    super();
    this.msg = msg;
  }

  protected valueOf(entry: [Op, Timestamp]): Op {
    return entry[0];
  }

  /** The child for `op`, created (with the op applied to this node's message) if absent. */
  add(op: Op): Timestamp {
    return this.get(op) ?? this.replace(op);
  }

  /** A new, empty child for `op`, replacing any child the op had. */
  replace(op: Op): Timestamp {
    const child = new Timestamp(op.call(this.msg));
    this.put(op, [op, child]);
    return child;
  }

  get(op: Op): Timestamp | undefined {
    const at = this.find(op);
    return at >= 0 ? (this.entries[at] as [Op, Timestamp])[1] : undefined;
  }

  /** Sets the child for `op`; it must be a timestamp of the op's result on this node's message. */
  set(op: Op, child: Timestamp): void {
    const existing = this.get(op);
    if (existing ? !equalBytes(existing.msg, child.msg) : !isResultOf(op, this.msg, child.msg)) {
      throw new OtsValueError(`${op}: child timestamp is for a different message`);
    }
    this.put(op, [op, child]);
  }

  [Symbol.iterator](): Iterator<[Op, Timestamp]> {
    return this.entries.values();
  }

  /** In the reference's canonical order. */
  sorted(): [Op, Timestamp][] {
    return this.sortedEntries((a, b) => a[0].compare(b[0]));
  }
}

/** What `shortestPathTo` finds: the ops from the start node to a node with a matching attestation. */
export interface AttestationPath {
  ops: Op[];
  msg: Uint8Array;
  attestation: Attestation;
}

export class Timestamp {
  readonly msg: Uint8Array;
  readonly attestations = new AttestationSet();
  readonly ops: OpSet;

  constructor(msg: Uint8Array) {
    if (msg.length > MAX_MSG_LENGTH) {
      throw new OtsValueError(`Message exceeds Op length limit; ${msg.length} > ${MAX_MSG_LENGTH}`);
    }
    this.msg = msg;
    this.ops = new OpSet(msg);
  }

  /** Adds every op and attestation of `other`, a timestamp of the same message. */
  merge(other: Timestamp): void {
    if (!equalBytes(this.msg, other.msg)) {
      throw new OtsValueError("Can't merge timestamps for different messages together");
    }
    for (const attestation of other.attestations) this.attestations.add(attestation);
    for (const [op, child] of other.ops) this.ops.add(op).merge(child);
  }

  /** Every attestation in the tree with the message it attests. */
  *allAttestations(): Generator<[Uint8Array, Attestation]> {
    for (const attestation of this.attestations) yield [this.msg, attestation];
    for (const [, child] of this.ops) yield* child.allAttestations();
  }

  /** The path with the fewest ops to an attestation accepted by `match` (breadth first). */
  shortestPathTo(match: (attestation: Attestation) => boolean): AttestationPath | undefined {
    let frontier: { node: Timestamp; ops: Op[] }[] = [{ node: this, ops: [] }];
    while (frontier.length > 0) {
      const next: typeof frontier = [];
      for (const { node, ops } of frontier) {
        const found = node.attestations.sorted().find(match);
        if (found) return { ops, msg: node.msg, attestation: found };
        for (const [op, child] of node.ops.sorted()) next.push({ node: child, ops: [...ops, op] });
      }
      frontier = next;
    }
    return undefined;
  }

  /** True when both trees hold the same messages, ops and attestations. */
  equals(other: Timestamp): boolean {
    if (!equalBytes(this.msg, other.msg)) return false;
    if (this.attestations.size !== other.attestations.size || this.ops.size !== other.ops.size) return false;
    for (const a of this.attestations) if (!other.attestations.has(a)) return false;
    for (const [op, child] of this.ops) {
      const theirs = other.ops.get(op);
      if (!theirs || !child.equals(theirs)) return false;
    }
    return true;
  }

  write(w: Writer): void {
    const attestations = this.attestations.sorted();
    const ops = this.ops.sorted();
    const children = attestations.length + ops.length;
    if (children === 0) throw new OtsValueError("An empty timestamp can't be serialized");
    let written = 0;
    for (const attestation of attestations) {
      if (++written < children) w.writeByte(FORK_MARKER);
      w.writeByte(ATTESTATION_MARKER);
      attestation.write(w);
    }
    for (const [op, child] of ops) {
      if (++written < children) w.writeByte(FORK_MARKER);
      op.write(w);
      child.write(w);
    }
  }

  /** The canonical serialization of the tree (a bare timestamp: the message itself is not included). */
  toBytes(): Uint8Array {
    const w = new Writer(serializedLength(this));
    this.write(w);
    return w.toBytes();
  }

  /**
   * Parses a whole byte array as the timestamp of `msg`; trailing bytes are an error. The tree holds
   * copies of `msg` and `bytes`, so a caller may reuse both.
   */
  static fromBytes(msg: Uint8Array, bytes: Uint8Array, options?: TimestampReadOptions): Timestamp {
    const r = new Reader(new Uint8Array(bytes));
    const timestamp = Timestamp.read(r, new Uint8Array(msg), options);
    r.assertEof();
    return timestamp;
  }

  /**
   * Parses the timestamp of `msg` at the reader's position, leaving the reader after it. The tree
   * keeps `msg` and views into the reader's bytes (op arguments, attestation payloads): neither may
   * change afterwards.
   */
  static read(r: Reader, msg: Uint8Array, options?: TimestampReadOptions): Timestamp {
    const parse = new TreeParse(r, (options?.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES) - msg.length);
    const timestamp = new Timestamp(msg);
    parse.node(timestamp, RECURSION_LIMIT);
    return timestamp;
  }

  toString(): string {
    return `Timestamp(<${toHex(this.msg)}>)`;
  }
}

/** One parse of a tree: the reader over the input, and what is left of the message budget. */
class TreeParse {
  private readonly r: Reader;
  private budget: number;

  constructor(r: Reader, budget: number) {
    this.r = r;
    this.budget = budget;
  }

  /** Reads the children of `node`: every one but the last behind a fork marker. */
  node(node: Timestamp, depthLeft: number): void {
    const r = this.r;
    if (depthLeft === 0) {
      throw new RecursionLimitError('Reached timestamp recursion depth limit while deserializing', r.offset);
    }
    let tag = r.readByte();
    while (tag === FORK_MARKER) {
      this.child(node, r.readByte(), depthLeft);
      tag = r.readByte();
    }
    this.child(node, tag, depthLeft);
  }

  private child(node: Timestamp, tag: number, depthLeft: number): void {
    const r = this.r;
    if (tag === ATTESTATION_MARKER) {
      node.attestations.add(AttestationReader.read(r));
      return;
    }
    const opAt = r.offset - 1;
    const op = Op.readWithTag(r, tag);
    let child: Timestamp;
    try {
      // A repeated op replaces the earlier subtree, as in the reference (its OpSet is a dict).
      child = node.ops.replace(op);
    } catch (e) {
      if (e instanceof MsgValueError) {
        throw new DeserializationError(`Invalid timestamp; message invalid for op ${op}: ${e.message}`, opAt);
      }
      throw e;
    }
    this.budget -= child.msg.length;
    if (this.budget < 0) {
      throw new DeserializationError('Timestamp messages exceed the size budget of this parse', opAt);
    }
    this.node(child, depthLeft - 1);
  }
}

/**
 * The length of `write`'s output for the tree below `node`, so that `toBytes` (and a detached
 * file's) allocates once: a walk over the tree costs less than growing and copying a typed array.
 */
export function serializedLength(node: Timestamp): number {
  let length = Math.max(node.attestations.size + node.ops.size - 1, 0); // fork markers
  for (const attestation of node.attestations) {
    const payload = attestation.payload.length;
    length += 1 + ATTESTATION_TAG_LENGTH + varUintLength(payload) + payload;
  }
  for (const [op, child] of node.ops) {
    length += 1 + (op instanceof BinaryOp ? varUintLength(op.arg.length) + op.arg.length : 0);
    length += serializedLength(child);
  }
  return length;
}
