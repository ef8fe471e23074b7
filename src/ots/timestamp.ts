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
import { copyOfBytes, equalBytes, toHex } from './bytes.js';
import { DeserializationError, MsgValueError, OtsValueError, RecursionLimitError } from './errors.js';
import { BinaryOp, isResultOf, MAX_MSG_LENGTH, Op, resultOfChecked } from './op.js';
import { Reader, varUintLength, Writer } from './serialize.js';

/** Nesting limit of the reference's parser: a path of 255 ops parses, 256 do not. */
export const RECURSION_LIMIT = 256;

/**
 * Default bound on the sum of the message lengths of every node a parse reads (the bytes its messages
 * take once read; subtrees a repeated op replaces count too). Not a reference limit: it stops a small input from expanding into gigabytes (every `append 1
 * byte` may copy 4 KiB). Real proofs use a few kilobytes.
 */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

export interface TimestampReadOptions {
  maxMessageBytes?: number;
}

/**
 * What the parser, below, may do that no caller can: give a node a child whose message is computed
 * when first read, and set it in the node's op set. Assigned by static blocks, which see private members.
 */
let parsedChild: (parent: Timestamp, op: Op) => Timestamp;
/**
 * Sets `child` as the child of `op` without `ops.set`'s check: for the parser, and for merkle.ts
 * (not in index.ts), whose children are the op's result by construction.
 */
export let putChild: (set: OpSet, op: Op, child: Timestamp) => void;
/** A node's attestations without making an empty set: serialization reads every node's. */
let attestationsOf: (node: Timestamp) => AttestationSet | undefined;
/**
 * The edges of an op set by position (0 to size - 1, in insertion order), for the walks of this
 * module (serialization, equals, merge), which would otherwise make an [op, child] pair per edge.
 */
let opAt: (set: OpSet, at: number) => Op;
let childAt: (set: OpSet, at: number) => Timestamp;
/** The positions of an op set's edges in the reference's canonical order. */
let sortedPositions: (set: OpSet) => readonly number[];
/** An attestation set's value by position, for its iterator. */
let attestationAt: (set: AttestationSet, at: number) => Attestation;
/** The message a parsed child is built with, replaced at once by its pending state. */
const NOT_YET = new Uint8Array(0);

const ATTESTATION_MARKER = 0x00;
const FORK_MARKER = 0xff;

/**
 * Up to this many children, a node finds a duplicate by comparing values, which costs nothing to set
 * up; almost every node of a real proof has one or two. A wider node (a merged or hostile tree can
 * have thousands) builds a map from value keys, so that adding stays O(1) per child.
 */
const SCAN_LIMIT = 8;

/** What every attestation-less node serializes with. */
const NO_ATTESTATIONS: readonly Attestation[] = [];
/** The sorted positions of an empty set and of a set of one, made once. */
const NO_POSITIONS: readonly number[] = [];
const FIRST_POSITION: readonly number[] = [0];

/**
 * Values unique by `equals`, in insertion order, without a Map keyed by strings: building a key (a
 * hex string of a 32-byte argument) cost more than a parse's hashing. The first value, often the
 * only one, is kept in a field and the others in an array made at the second: a merkle tree or a
 * parse makes a set per node, and an array per set was much of the collector's work. The map from
 * keys to positions exists only once a set outgrows SCAN_LIMIT. Nothing is removed: positions stay.
 */
abstract class UniqueValues<T extends { readonly key: string; equals(other: T): boolean }> {
  private first: T | undefined;
  /** The values after the first, at positions 1 and up. */
  private rest: T[] | undefined;
  private index: Map<string, number> | undefined;

  get size(): number {
    if (this.first === undefined) return 0;
    return this.rest === undefined ? 1 : 1 + this.rest.length;
  }

  /** The value at position `at`, which is below `size`. */
  protected valueAt(at: number): T {
    return (at === 0 ? this.first : (this.rest as T[])[at - 1]) as T;
  }

  /** Positions 0 to size - 1, in `compare`'s order of their values; not to be written to. */
  protected positionsSorted(compare: (a: T, b: T) => number): readonly number[] {
    const size = this.size;
    if (size <= 1) return size === 0 ? NO_POSITIONS : FIRST_POSITION;
    const positions = Array.from({ length: size }, (_, i) => i);
    return positions.sort((a, b) => compare(this.valueAt(a), this.valueAt(b)));
  }

  /** Position of the value that equals `value`, or -1. */
  protected find(value: T): number {
    if (this.index) return this.index.get(value.key) ?? -1;
    const first = this.first;
    if (first === undefined) return -1;
    if (first.equals(value)) return 0;
    const rest = this.rest;
    if (rest) for (let i = 0; i < rest.length; i++) if ((rest[i] as T).equals(value)) return i + 1;
    return -1;
  }

  /** Sets `value` in place of an equal one, else adds it at the end; returns its position. */
  protected put(value: T): number {
    const at = this.find(value);
    if (at === 0) this.first = value;
    else if (at > 0) (this.rest as T[])[at - 1] = value;
    else return this.append(value);
    return at;
  }

  /** Adds `value`, which no value of the set equals, at the end; returns its position. */
  protected append(value: T): number {
    if (this.first === undefined) {
      this.first = value;
      return 0;
    }
    if (this.rest === undefined) this.rest = [value];
    else this.rest.push(value);
    const at = this.rest.length;
    if (this.index) this.index.set(value.key, at);
    else if (at >= SCAN_LIMIT) {
      this.index = new Map();
      for (let i = 0; i <= at; i++) this.index.set(this.valueAt(i).key, i);
    }
    return at;
  }
}

/** The attestations of one node, unique by value. */
export class AttestationSet extends UniqueValues<Attestation> implements Iterable<Attestation> {
  add(attestation: Attestation): void {
    if (this.find(attestation) < 0) this.append(attestation);
  }
  has(attestation: Attestation): boolean {
    return this.find(attestation) >= 0;
  }
  [Symbol.iterator](): IterableIterator<Attestation> {
    return new Attestations(this);
  }
  static {
    attestationAt = (set, at) => set.valueAt(at);
  }
  /** In the reference's canonical order. */
  sorted(): Attestation[] {
    return this.positionsSorted((a, b) => a.compare(b)).map((at) => this.valueAt(at));
  }
}

/**
 * The op edges of one node: at most one child per distinct op. The children sit beside the ops, in
 * a field for the first and an array from the second, rather than in an [op, child] pair per edge.
 */
export class OpSet extends UniqueValues<Op> implements Iterable<[Op, Timestamp]> {
  /** The node whose message the ops apply to (a parsed one computes it when first read), or that message. */
  private readonly of: Timestamp | Uint8Array;
  private firstChild: Timestamp | undefined;
  /** The children of the ops at positions 1 and up. */
  private restChildren: Timestamp[] | undefined;

  constructor(of: Timestamp | Uint8Array) {
    super();
    this.of = of;
  }

  private get msg(): Uint8Array {
    const of = this.of;
    return of instanceof Timestamp ? of.msg : of;
  }

  private childAt(at: number): Timestamp {
    return (at === 0 ? this.firstChild : (this.restChildren as Timestamp[])[at - 1]) as Timestamp;
  }

  /** Sets the child of `op`, in place of the child of an equal op (which `op` replaces too). */
  private putChild(op: Op, child: Timestamp): void {
    this.setChildAt(this.put(op), child);
  }

  private setChildAt(at: number, child: Timestamp): void {
    if (at === 0) this.firstChild = child;
    else if (this.restChildren === undefined) this.restChildren = [child];
    else this.restChildren[at - 1] = child;
  }

  static {
    putChild = (set, op, child) => set.putChild(op, child);
    opAt = (set, at) => set.valueAt(at);
    childAt = (set, at) => set.childAt(at);
    sortedPositions = (set) => set.positionsSorted((a, b) => a.compare(b));
  }

  /** The child for `op`, created (with the op applied to this node's message) if absent. */
  add(op: Op): Timestamp {
    const at = this.find(op);
    if (at >= 0) return this.childAt(at);
    const child = new Timestamp(op.call(this.msg));
    this.setChildAt(this.append(op), child);
    return child;
  }

  /** A new, empty child for `op`, replacing any child the op had. */
  replace(op: Op): Timestamp {
    const child = new Timestamp(op.call(this.msg));
    this.putChild(op, child);
    return child;
  }

  get(op: Op): Timestamp | undefined {
    const at = this.find(op);
    return at >= 0 ? this.childAt(at) : undefined;
  }

  /** Sets the child for `op`; it must be a timestamp of the op's result on this node's message. */
  set(op: Op, child: Timestamp): void {
    const existing = this.get(op);
    if (existing ? !equalBytes(existing.msg, child.msg) : !isResultOf(op, this.msg, child.msg)) {
      throw new OtsValueError(`${op}: child timestamp is for a different message`);
    }
    this.putChild(op, child);
  }

  /** Each edge as an [op, child] pair, made as it is reached: the set keeps no pairs. */
  [Symbol.iterator](): IterableIterator<[Op, Timestamp]> {
    return new Edges(this);
  }

  /** In the reference's canonical order. */
  sorted(): [Op, Timestamp][] {
    return this.positionsSorted((a, b) => a.compare(b)).map((at) => [this.valueAt(at), this.childAt(at)]);
  }
}

/**
 * The iterators of the sets, live as an array's are (a value added while one runs is reached).
 * Objects with a `next` method rather than generators, which V8 does not inline, and a class per set
 * rather than one class calling a function per set (a call V8 left out of line, which doubled a
 * walk's time). Measured on a 39-node proof: parsing and walking it costs less than when the sets
 * kept pairs, walking a kept tree again ~0.4 us more (0.8 against 0.45); caching the pairs at the
 * first walk instead slowed the parse, the set having one more field to keep.
 */
class Edges implements IterableIterator<[Op, Timestamp]> {
  private readonly set: OpSet;
  private at = 0;

  constructor(set: OpSet) {
    this.set = set;
  }

  next(): IteratorResult<[Op, Timestamp]> {
    const at = this.at;
    if (at >= this.set.size) return { done: true, value: undefined };
    this.at = at + 1;
    return { done: false, value: [opAt(this.set, at), childAt(this.set, at)] };
  }

  [Symbol.iterator](): IterableIterator<[Op, Timestamp]> {
    return this;
  }
}

class Attestations implements IterableIterator<Attestation> {
  private readonly set: AttestationSet;
  private at = 0;

  constructor(set: AttestationSet) {
    this.set = set;
  }

  next(): IteratorResult<Attestation> {
    const at = this.at;
    if (at >= this.set.size) return { done: true, value: undefined };
    this.at = at + 1;
    return { done: false, value: attestationAt(this.set, at) };
  }

  [Symbol.iterator](): IterableIterator<Attestation> {
    return this;
  }
}

/** What `shortestPathTo` finds: the ops from the start node to a node with a matching attestation. */
export interface AttestationPath {
  ops: Op[];
  msg: Uint8Array;
  attestation: Attestation;
}

export class Timestamp {
  /** The message; in a parsed node, undefined until first read. */
  private known: Uint8Array | undefined;
  /**
   * While `known` is undefined: the node and the op whose result on its message this node's is (so an
   * unread node keeps its parent, and the ops' arguments, reachable).
   */
  private parent: Timestamp | undefined;
  private via: Op | undefined;
  /** Made at first use: all but the last node of a path have none, and a parse makes one per node. */
  private attestationSet: AttestationSet | undefined;
  readonly ops: OpSet;

  constructor(msg: Uint8Array) {
    if (msg.length > MAX_MSG_LENGTH) {
      throw new OtsValueError(`Message exceeds Op length limit; ${msg.length} > ${MAX_MSG_LENGTH}`);
    }
    this.known = msg;
    this.ops = new OpSet(this);
  }

  get attestations(): AttestationSet {
    this.attestationSet ??= new AttestationSet();
    return this.attestationSet;
  }

  static {
    attestationsOf = (node) => node.attestationSet;
  }

  /**
   * The message this node timestamps. A parse checks every op's limits on lengths alone and leaves
   * the ops to be applied here, on first read: hashing the whole tree was most of a parse's time,
   * and a reader of a proof often wants the serialization or one path, not every message.
   */
  get msg(): Uint8Array {
    return this.known ?? this.computeMsg();
  }

  /**
   * Applies this node's op to its parent's message, computing the parent's first if need be: a
   * recursion, but only a parse makes such nodes, at most RECURSION_LIMIT deep. The parse checked
   * the op's limits on the parent's message length, so they are not checked again.
   */
  private computeMsg(): Uint8Array {
    const msg = resultOfChecked(this.via as Op, (this.parent as Timestamp).msg);
    this.known = msg;
    this.parent = undefined;
    this.via = undefined;
    return msg;
  }

  static {
    parsedChild = (parent, op) => {
      const child = new Timestamp(NOT_YET);
      child.known = undefined;
      child.parent = parent;
      child.via = op;
      return child;
    };
  }

  /** Adds every op and attestation of `other`, a timestamp of the same message. */
  merge(other: Timestamp): void {
    if (!equalBytes(this.msg, other.msg)) {
      throw new OtsValueError("Can't merge timestamps for different messages together");
    }
    for (const attestation of other.attestations) this.attestations.add(attestation);
    const theirs = other.ops;
    for (let at = 0; at < theirs.size; at++) this.ops.add(opAt(theirs, at)).merge(childAt(theirs, at));
  }

  /** Every attestation in the tree with the message it attests. */
  *allAttestations(): Generator<[Uint8Array, Attestation]> {
    for (const attestation of this.attestations) yield [this.msg, attestation];
    const ops = this.ops;
    for (let at = 0; at < ops.size; at++) yield* childAt(ops, at).allAttestations();
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
    const ops = this.ops;
    for (let at = 0; at < ops.size; at++) {
      const theirs = other.ops.get(opAt(ops, at));
      if (!theirs || !childAt(ops, at).equals(theirs)) return false;
    }
    return true;
  }

  write(w: Writer): void {
    const attestations = this.attestationSet?.sorted() ?? NO_ATTESTATIONS;
    const ops = this.ops;
    const children = attestations.length + ops.size;
    if (children === 0) throw new OtsValueError("An empty timestamp can't be serialized");
    let written = 0;
    for (const attestation of attestations) {
      if (++written < children) w.writeByte(FORK_MARKER);
      w.writeByte(ATTESTATION_MARKER);
      attestation.write(w);
    }
    for (const at of sortedPositions(ops)) {
      if (++written < children) w.writeByte(FORK_MARKER);
      opAt(ops, at).write(w);
      childAt(ops, at).write(w);
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
    const r = new Reader(copyOfBytes(bytes, 'Timestamp.fromBytes bytes'));
    const timestamp = Timestamp.read(r, copyOfBytes(msg, 'Timestamp.fromBytes msg'), options);
    r.assertEof();
    return timestamp;
  }

  /**
   * Parses the timestamp of `msg` at the reader's position, leaving the reader after it. The tree
   * keeps `msg` and views into the reader's bytes (op arguments, attestation payloads, and the
   * messages it computes from them when first read): neither may change afterwards.
   */
  static read(r: Reader, msg: Uint8Array, options?: TimestampReadOptions): Timestamp {
    const parse = new TreeParse(r, (options?.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES) - msg.length);
    const timestamp = new Timestamp(msg);
    parse.node(timestamp, msg.length, RECURSION_LIMIT);
    return timestamp;
  }

  toString(): string {
    return `Timestamp(<${toHex(this.msg)}>)`;
  }
}

/**
 * For merkle.ts (not in index.ts): adds to `parent`, which has no child for `op`, a child whose
 * message is computed when first read, as a parse's are; `op`'s limits on the parent's message are
 * checked now, as `parent.ops.add(op)` checks them. Until read, the child keeps `parent` reachable.
 */
export function addChildOnRead(parent: Timestamp, op: Op): Timestamp {
  op.resultLength(parent.msg.length);
  const child = parsedChild(parent, op);
  putChild(parent.ops, op, child);
  return child;
}

/** One parse of a tree: the reader over the input, and what is left of the message budget. */
class TreeParse {
  private readonly r: Reader;
  private budget: number;

  constructor(r: Reader, budget: number) {
    this.r = r;
    this.budget = budget;
  }

  /** Reads the children of `node` (a message of `msgLength` bytes): all but the last behind a fork marker. */
  node(node: Timestamp, msgLength: number, depthLeft: number): void {
    const r = this.r;
    if (depthLeft === 0) {
      throw new RecursionLimitError('Reached timestamp recursion depth limit while deserializing', r.offset);
    }
    let tag = r.readByte();
    while (tag === FORK_MARKER) {
      this.child(node, msgLength, r.readByte(), depthLeft);
      tag = r.readByte();
    }
    this.child(node, msgLength, tag, depthLeft);
  }

  private child(node: Timestamp, msgLength: number, tag: number, depthLeft: number): void {
    const r = this.r;
    if (tag === ATTESTATION_MARKER) {
      node.attestations.add(AttestationReader.read(r));
      return;
    }
    const opAt = r.offset - 1;
    const op = Op.readWithTag(r, tag);
    let length: number;
    try {
      length = op.resultLength(msgLength);
    } catch (e) {
      if (e instanceof MsgValueError) {
        throw new DeserializationError(`Invalid timestamp; message invalid for op ${op}: ${e.message}`, opAt);
      }
      throw e;
    }
    this.budget -= length;
    if (this.budget < 0) {
      throw new DeserializationError('Timestamp messages exceed the size budget of this parse', opAt);
    }
    const child = parsedChild(node, op);
    // A repeated op replaces the earlier subtree, as in the reference (its OpSet is a dict).
    putChild(node.ops, op, child);
    this.node(child, length, depthLeft - 1);
  }
}

/**
 * The length of `write`'s output for the tree below `node`, so that `toBytes` (and a detached
 * file's) allocates once: a walk over the tree costs less than growing and copying a typed array.
 */
export function serializedLength(node: Timestamp): number {
  const attestations = attestationsOf(node);
  let length = Math.max((attestations?.size ?? 0) + node.ops.size - 1, 0); // fork markers
  if (attestations) {
    for (const attestation of attestations) {
      const payload = attestation.payload.length;
      length += 1 + ATTESTATION_TAG_LENGTH + varUintLength(payload) + payload;
    }
  }
  const ops = node.ops;
  for (let at = 0; at < ops.size; at++) {
    const op = opAt(ops, at);
    length += 1 + (op instanceof BinaryOp ? varUintLength(op.arg.length) + op.arg.length : 0);
    length += serializedLength(childAt(ops, at));
  }
  return length;
}
