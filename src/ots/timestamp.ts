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
import { Attestation as AttestationReader } from './attestation.js';
import { equalBytes, toHex } from './bytes.js';
import { DeserializationError, MsgValueError, OtsValueError, RecursionLimitError } from './errors.js';
import { MAX_MSG_LENGTH, Op } from './op.js';
import { Reader, Writer } from './serialize.js';

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

/** The attestations of one node, unique by value. */
export class AttestationSet implements Iterable<Attestation> {
  private readonly byKey = new Map<string, Attestation>();

  get size(): number {
    return this.byKey.size;
  }
  add(attestation: Attestation): void {
    if (!this.byKey.has(attestation.key)) this.byKey.set(attestation.key, attestation);
  }
  has(attestation: Attestation): boolean {
    return this.byKey.has(attestation.key);
  }
  [Symbol.iterator](): Iterator<Attestation> {
    return this.byKey.values();
  }
  /** In the reference's canonical order. */
  sorted(): Attestation[] {
    return [...this.byKey.values()].sort((a, b) => a.compare(b));
  }
}

/** The op edges of one node: at most one child per distinct op. */
export class OpSet implements Iterable<[Op, Timestamp]> {
  private readonly byKey = new Map<string, [Op, Timestamp]>();
  private readonly msg: Uint8Array;

  constructor(msg: Uint8Array) {
    this.msg = msg;
  }

  get size(): number {
    return this.byKey.size;
  }

  /** The child for `op`, created (with the op applied to this node's message) if absent. */
  add(op: Op): Timestamp {
    const existing = this.byKey.get(op.key);
    if (existing) return existing[1];
    const child = new Timestamp(op.call(this.msg));
    this.byKey.set(op.key, [op, child]);
    return child;
  }

  /** A new, empty child for `op`, replacing any child the op had. */
  replace(op: Op): Timestamp {
    const child = new Timestamp(op.call(this.msg));
    this.byKey.set(op.key, [op, child]);
    return child;
  }

  get(op: Op): Timestamp | undefined {
    return this.byKey.get(op.key)?.[1];
  }

  /** Sets the child for `op`; it must be a timestamp of the op's result on this node's message. */
  set(op: Op, child: Timestamp): void {
    const existing = this.byKey.get(op.key);
    const expected = existing ? existing[1].msg : op.call(this.msg);
    if (!equalBytes(expected, child.msg)) {
      throw new OtsValueError(`${op}: child timestamp is for a different message`);
    }
    this.byKey.set(op.key, [op, child]);
  }

  [Symbol.iterator](): Iterator<[Op, Timestamp]> {
    return this.byKey.values();
  }

  /** In the reference's canonical order. */
  sorted(): [Op, Timestamp][] {
    return [...this.byKey.values()].sort((a, b) => a[0].compare(b[0]));
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
    if (msg.byteLength > MAX_MSG_LENGTH) {
      throw new OtsValueError(`Message exceeds Op length limit; ${msg.byteLength} > ${MAX_MSG_LENGTH}`);
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
    const w = new Writer();
    this.write(w);
    return w.toBytes();
  }

  /** Parses a whole byte array as the timestamp of `msg`; trailing bytes are an error. */
  static fromBytes(msg: Uint8Array, bytes: Uint8Array, options?: TimestampReadOptions): Timestamp {
    const r = new Reader(bytes);
    const timestamp = Timestamp.read(r, msg, options);
    r.assertEof();
    return timestamp;
  }

  /** Parses the timestamp of `msg` at the reader's position, leaving the reader after it. */
  static read(r: Reader, msg: Uint8Array, options?: TimestampReadOptions): Timestamp {
    const budget = { left: (options?.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES) - msg.byteLength };
    return readNode(r, new Timestamp(msg), RECURSION_LIMIT, budget);
  }

  toString(): string {
    return `Timestamp(<${toHex(this.msg)}>)`;
  }
}

function readNode(r: Reader, node: Timestamp, depthLeft: number, budget: { left: number }): Timestamp {
  if (depthLeft === 0) {
    throw new RecursionLimitError('Reached timestamp recursion depth limit while deserializing', r.offset);
  }
  const readChild = (tag: number): void => {
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
    budget.left -= child.msg.byteLength;
    if (budget.left < 0) {
      throw new DeserializationError('Timestamp messages exceed the size budget of this parse', opAt);
    }
    readNode(r, child, depthLeft - 1, budget);
  };
  let tag = r.readByte();
  while (tag === FORK_MARKER) {
    readChild(r.readByte());
    tag = r.readByte();
  }
  readChild(tag);
  return node;
}
