/**
 * Timestamp proof operations: the edges of the timestamp tree (python-opentimestamps `core/op.py`).
 * Tags, argument limits and message/result limits are the reference's; tags follow RFC 4880 for the
 * hash functions.
 * @module
 */
import { compareBytes, concatBytes, equalBytes, reverseBytes, toHex } from './bytes.js';
import { DeserializationError, MsgValueError, OpArgValueError } from './errors.js';
import { keccak256, ripemd160, sha1, sha256 } from './hash.js';
import type { Reader, Writer } from './serialize.js';

/** Largest message an op may be applied to, and largest result it may give (reference: 4096). */
export const MAX_MSG_LENGTH = 4096;
export const MAX_RESULT_LENGTH = 4096;

/** The op's result on `msg`, whose length `resultLength` has accepted already: a parse checked it. */
export let resultOfChecked: (op: Op, msg: Uint8Array) => Uint8Array;

export abstract class Op {
  /** The one-byte tag that introduces this op in a serialization. */
  abstract readonly tag: number;
  /** The reference's TAG_NAME, as `ots info` prints it. */
  abstract readonly name: string;
  /** Largest message this op accepts. */
  get maxMsgLength(): number {
    return MAX_MSG_LENGTH;
  }

  /** The result; called only on a message whose length `resultLength` accepted. */
  protected abstract apply(msg: Uint8Array): Uint8Array;
  /** The length of `apply`'s result on a message of `msgLength` bytes, or the op's own refusal. */
  protected abstract applyLength(msgLength: number): number;

  /** The op's result on `msg`; MsgValueError when the message or the result breaks a limit. */
  call(msg: Uint8Array): Uint8Array {
    this.resultLength(msg.length);
    return this.apply(msg);
  }

  /**
   * The length of the op's result on a message of `msgLength` bytes, with every check of `call` (the
   * same MsgValueError, in the same order): no op refuses a message for its bytes, only for its
   * length. A parse checks a tree with it and computes the messages only when they are read.
   */
  resultLength(msgLength: number): number {
    if (msgLength > this.maxMsgLength) {
      throw new MsgValueError(`${this.name}: message too long; ${msgLength} > ${this.maxMsgLength}`);
    }
    const length = this.applyLength(msgLength);
    if (length === 0) throw new MsgValueError(`${this.name}: empty result`);
    if (length > MAX_RESULT_LENGTH) {
      throw new MsgValueError(`${this.name}: result too long; ${length} > ${MAX_RESULT_LENGTH}`);
    }
    return length;
  }

  static {
    resultOfChecked = (op, msg) => op.apply(msg);
  }

  write(w: Writer): void {
    w.writeByte(this.tag);
  }

  /** A string that is equal for equal ops: the map key of an op among a node's children. */
  abstract get key(): string;

  /** The reference's order: by tag, then by argument bytes (BinaryOp). */
  compare(other: Op): number {
    return this.tag - other.tag;
  }

  /** Equal tags make equal ops, but for a BinaryOp's argument. */
  equals(other: Op): boolean {
    return this.tag === other.tag;
  }

  toString(): string {
    return this.name;
  }

  /** Reads one op, tag included. */
  static read(r: Reader): Op {
    return Op.readWithTag(r, r.readByte());
  }

  /** Reads the rest of an op whose tag byte has been read already. */
  static readWithTag(r: Reader, tag: number): Op {
    const unary = UNARY_BY_TAG[tag];
    if (unary) return unary;
    const binary = BINARY_BY_TAG[tag];
    if (binary) return binary(r.readVarBytes(MAX_RESULT_LENGTH, 1));
    throw new DeserializationError(
      `Unknown operation tag 0x${tag.toString(16).padStart(2, '0')}`,
      r.offset - 1,
    );
  }
}

/** Operations that act on the message alone. Stateless, so each has one shared instance. */
export abstract class UnaryOp extends Op {
  get key(): string {
    return String.fromCharCode(this.tag);
  }
}

/** Operations that act on the message and one argument (1..4096 bytes). */
export abstract class BinaryOp extends Op {
  readonly arg: Uint8Array;
  private cachedKey: string | undefined;

  /** The reference's class name, for its error texts (a prototype getter: bundlers rename classes). */
  protected get pythonName(): string {
    return 'BinaryOp';
  }

  constructor(arg: Uint8Array) {
    super();
    if (arg.length === 0) throw new OpArgValueError(`${this.pythonName} arg can't be empty`);
    if (arg.length > MAX_RESULT_LENGTH) {
      throw new OpArgValueError(`${this.pythonName} arg too long: ${arg.length} > ${MAX_RESULT_LENGTH}`);
    }
    this.arg = arg;
  }

  get key(): string {
    this.cachedKey ??= String.fromCharCode(this.tag) + toHex(this.arg);
    return this.cachedKey;
  }

  // Two ops with one tag are of one class, so the other's argument is there to compare.
  override compare(other: Op): number {
    return this.tag - other.tag || compareBytes(this.arg, (other as BinaryOp).arg);
  }

  override equals(other: Op): boolean {
    return this.tag === other.tag && equalBytes(this.arg, (other as BinaryOp).arg);
  }

  override write(w: Writer): void {
    w.writeByte(this.tag);
    w.writeVarBytes(this.arg);
  }

  override toString(): string {
    return `${this.name} ${toHex(this.arg)}`;
  }
}

/** Hash functions: fixed-length results, and the only ops allowed as a detached file's hash op. */
export abstract class CryptOp extends UnaryOp {
  abstract readonly digestLength: number;
  protected abstract hash(data: Uint8Array): Uint8Array;
  protected apply(msg: Uint8Array): Uint8Array {
    return this.hash(msg);
  }
  protected applyLength(): number {
    return this.digestLength;
  }
  /** The digest of data of any length (a whole file), without the message-length limit. */
  hashData(data: Uint8Array): Uint8Array {
    return this.hash(data);
  }
}

export class OpSHA1 extends CryptOp {
  /** Its tag byte, for writers that write ops without making them (merkle.ts writePath). */
  static readonly TAG = 0x02;
  readonly tag = OpSHA1.TAG;
  readonly name = 'sha1';
  readonly digestLength = 20;
  protected hash(data: Uint8Array): Uint8Array {
    return sha1(data);
  }
}

export class OpRIPEMD160 extends CryptOp {
  /** Its tag byte, for writers that write ops without making them (merkle.ts writePath). */
  static readonly TAG = 0x03;
  readonly tag = OpRIPEMD160.TAG;
  readonly name = 'ripemd160';
  readonly digestLength = 20;
  protected hash(data: Uint8Array): Uint8Array {
    return ripemd160(data);
  }
}

export class OpSHA256 extends CryptOp {
  /** Its tag byte, for writers that write ops without making them (merkle.ts writePath). */
  static readonly TAG = 0x08;
  readonly tag = OpSHA256.TAG;
  readonly name = 'sha256';
  readonly digestLength = 32;
  protected hash(data: Uint8Array): Uint8Array {
    return sha256(data);
  }
}

/** Keccak-256 as Ethereum uses it (not SHA3-256). The JS client cannot compute it; the reference can. */
export class OpKECCAK256 extends CryptOp {
  /** Its tag byte, for writers that write ops without making them (merkle.ts writePath). */
  static readonly TAG = 0x67;
  readonly tag = OpKECCAK256.TAG;
  readonly name = 'keccak256';
  readonly digestLength = 32;
  protected hash(data: Uint8Array): Uint8Array {
    return keccak256(data);
  }
}

export class OpAppend extends BinaryOp {
  /** Its tag byte, for writers that write ops without making them (merkle.ts writePath). */
  static readonly TAG = 0xf0;
  readonly tag = OpAppend.TAG;
  readonly name = 'append';
  protected override get pythonName(): string {
    return 'OpAppend';
  }
  protected apply(msg: Uint8Array): Uint8Array {
    return concatBytes(msg, this.arg);
  }
  protected applyLength(msgLength: number): number {
    return msgLength + this.arg.length;
  }
}

export class OpPrepend extends BinaryOp {
  /** Its tag byte, for writers that write ops without making them (merkle.ts writePath). */
  static readonly TAG = 0xf1;
  readonly tag = OpPrepend.TAG;
  readonly name = 'prepend';
  protected override get pythonName(): string {
    return 'OpPrepend';
  }
  protected apply(msg: Uint8Array): Uint8Array {
    return concatBytes(this.arg, msg);
  }
  protected applyLength(msgLength: number): number {
    return msgLength + this.arg.length;
  }
}

/** Reverses the message. The reference marks it as possibly going away; it still reads and writes it. */
export class OpReverse extends UnaryOp {
  /** Its tag byte, for writers that write ops without making them (merkle.ts writePath). */
  static readonly TAG = 0xf2;
  readonly tag = OpReverse.TAG;
  readonly name = 'reverse';
  protected apply(msg: Uint8Array): Uint8Array {
    return reverseBytes(msg);
  }
  protected applyLength(msgLength: number): number {
    if (msgLength === 0) throw new MsgValueError("reverse: can't reverse an empty message");
    return msgLength;
  }
}

/** Lower-case hex of the message; the message is limited to half the result limit. */
export class OpHexlify extends UnaryOp {
  /** Its tag byte, for writers that write ops without making them (merkle.ts writePath). */
  static readonly TAG = 0xf3;
  readonly tag = OpHexlify.TAG;
  readonly name = 'hexlify';
  override get maxMsgLength(): number {
    return MAX_RESULT_LENGTH / 2;
  }
  protected apply(msg: Uint8Array): Uint8Array {
    return new TextEncoder().encode(toHex(msg));
  }
  protected applyLength(msgLength: number): number {
    if (msgLength === 0) throw new MsgValueError("hexlify: can't hexlify an empty message");
    return 2 * msgLength;
  }
}

const UNARY_OPS: readonly UnaryOp[] = [
  new OpSHA1(),
  new OpRIPEMD160(),
  new OpSHA256(),
  new OpKECCAK256(),
  new OpReverse(),
  new OpHexlify(),
];

const BINARY_OPS: readonly [number, (arg: Uint8Array) => BinaryOp][] = [
  [OpAppend.TAG, (arg) => new OpAppend(arg)],
  [OpPrepend.TAG, (arg) => new OpPrepend(arg)],
];

// Tables indexed by the tag byte: a parse looks an op up per node, and two Map lookups were a tenth
// of a parse's time.
const UNARY_BY_TAG: (UnaryOp | undefined)[] = new Array(256).fill(undefined);
for (const op of UNARY_OPS) UNARY_BY_TAG[op.tag] = op;
const BINARY_BY_TAG: (((arg: Uint8Array) => BinaryOp) | undefined)[] = new Array(256).fill(undefined);
for (const [tag, make] of BINARY_OPS) BINARY_BY_TAG[tag] = make;

/**
 * Whether `result` is `op`'s result on `msg` (a limit the op breaks throws, as `call` does). Append
 * and prepend compare in place: building the concatenation only to compare it, once per pair of a
 * merkle tree, made the whole tree five times slower (a garbage typed array per call costs the
 * collector far more than its bytes).
 */
export function isResultOf(op: Op, msg: Uint8Array, result: Uint8Array): boolean {
  if (op instanceof BinaryOp && msg.length + op.arg.length <= MAX_RESULT_LENGTH) {
    if (op instanceof OpAppend) return isConcatenation(result, msg, op.arg);
    if (op instanceof OpPrepend) return isConcatenation(result, op.arg, msg);
  }
  return equalBytes(op.call(msg), result);
}

/** Whether `whole` is `head` followed by `tail`. */
function isConcatenation(whole: Uint8Array, head: Uint8Array, tail: Uint8Array): boolean {
  const at = head.length;
  const tailLength = tail.length;
  if (whole.length !== at + tailLength) return false;
  for (let i = 0; i < at; i++) if (whole[i] !== head[i]) return false;
  for (let i = 0; i < tailLength; i++) if (whole[at + i] !== tail[i]) return false;
  return true;
}

/** The crypto op with this tag, or undefined: the ops a detached file may name as its file hash. */
export function cryptOpByTag(tag: number): CryptOp | undefined {
  const op = UNARY_BY_TAG[tag];
  return op instanceof CryptOp ? op : undefined;
}
