/**
 * Bitcoin transaction and block parsing with python-bitcoinlib's rules (`CTransaction`: segwit marker
 * handled, MAX_SIZE on every read). `ots info` uses it to label the node where a proof passes through
 * a transaction; the stamper uses it to read blocks and its own transactions.
 * @module
 */
import { concatBytes } from './bytes.js';
import { sha256d } from './hash.js';
import { Reader } from './serialize.js';

/** python-bitcoinlib's MAX_SIZE: no single read may ask for more. */
const MAX_SIZE = 0x02000000;

export interface TxInput {
  /** Txid of the spent output, internal byte order. */
  prevTxid: Uint8Array;
  prevIndex: number;
  scriptSig: Uint8Array;
  sequence: number;
}

export interface TxOutput {
  value: bigint;
  script: Uint8Array;
}

export interface BitcoinTransaction {
  version: number;
  inputs: TxInput[];
  outputs: TxOutput[];
  /** One stack per input when the transaction has witness data, else empty. */
  witnesses: Uint8Array[][];
  lockTime: number;
  /** The serialization without witness data: what the txid hashes. */
  nonWitnessBytes: Uint8Array;
  /** sha256d of the non-witness serialization, internal byte order. */
  txid: Uint8Array;
}

class TxReader extends Reader {
  take(n: number): Uint8Array {
    if (n > MAX_SIZE) throw new RangeError(`read of ${n} bytes exceeds MAX_SIZE`);
    return this.readBytes(n);
  }
  u32(): number {
    const b = this.take(4);
    return new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true);
  }
  compactSize(): number {
    const b = this.readByte();
    if (b < 0xfd) return b;
    const width = b === 0xfd ? 2 : b === 0xfe ? 4 : 8;
    const bytes = this.readBytes(width);
    let value = 0;
    for (let i = width - 1; i >= 0; i--) value = value * 256 + (bytes[i] as number);
    return value;
  }
  varBytes(): Uint8Array {
    return this.take(this.compactSize());
  }
  /** Items of a vector; each item consumes at least one byte, so a bogus count ends in a truncation. */
  vector<T>(readItem: () => T): T[] {
    const count = this.compactSize();
    const items: T[] = [];
    for (let i = 0; i < count; i++) items.push(readItem());
    return items;
  }
}

function readTransaction(r: TxReader): BitcoinTransaction {
  const start = r.offset;
  const versionBytes = r.take(4);
  const version = new DataView(versionBytes.buffer, versionBytes.byteOffset, 4).getInt32(0, true);
  const marker = r.readByte();
  const flag = r.readByte();
  const segwit = marker === 0 && flag === 1;
  if (!segwit) r.offset -= 2;
  const bodyStart = r.offset;
  const inputs = r.vector(() => {
    const prevTxid = r.take(32);
    const prevIndex = r.u32();
    const scriptSig = r.varBytes();
    return { prevTxid, prevIndex, scriptSig, sequence: r.u32() };
  });
  const outputs = r.vector(() => {
    const v = r.take(8);
    const value = new DataView(v.buffer, v.byteOffset, 8).getBigInt64(0, true);
    return { value, script: r.varBytes() };
  });
  const bodyEnd = r.offset;
  const witnesses = segwit ? inputs.map(() => r.vector(() => r.varBytes())) : [];
  const lockTimeAt = r.offset;
  const lockTime = r.u32();
  const nonWitnessBytes = segwit
    ? concatBytes(
        versionBytes,
        r.bytes.subarray(bodyStart, bodyEnd),
        r.bytes.subarray(lockTimeAt, lockTimeAt + 4),
      )
    : r.bytes.slice(start, r.offset);
  return { version, inputs, outputs, witnesses, lockTime, nonWitnessBytes, txid: sha256d(nonWitnessBytes) };
}

/** Parses exactly one transaction; throws on anything else (truncation, trailing bytes, MAX_SIZE). */
export function parseTransaction(bytes: Uint8Array): BitcoinTransaction {
  const r = new TxReader(bytes);
  const tx = readTransaction(r);
  r.assertEof();
  return tx;
}

/** Whether `msg` is exactly one transaction: what `ots info` labels with "Transaction id". */
export function parsesAsTransaction(msg: Uint8Array): boolean {
  try {
    parseTransaction(msg);
    return true;
  } catch {
    return false;
  }
}

const compactSizeBytes = (n: number) => (n < 0xfd ? 1 : n <= 0xffff ? 3 : n <= 0xffffffff ? 5 : 9);

/** Bytes of the full serialization (with the segwit marker, flag and witnesses when it has witness data). */
export function serializedSize(tx: BitcoinTransaction): number {
  if (tx.witnesses.length === 0) return tx.nonWitnessBytes.byteLength;
  let witness = 2;
  for (const stack of tx.witnesses) {
    witness += compactSizeBytes(stack.length);
    for (const item of stack) witness += compactSizeBytes(item.byteLength) + item.byteLength;
  }
  return tx.nonWitnessBytes.byteLength + witness;
}

/** BIP141 virtual size: (3 * stripped size + total size) / 4, rounded up. */
export function virtualSize(tx: BitcoinTransaction, size = serializedSize(tx)): number {
  return Math.ceil((3 * tx.nonWitnessBytes.byteLength + size) / 4);
}

/** A raw block: the 80-byte header, then its transactions. */
export function parseBlock(bytes: Uint8Array): { header: Uint8Array; transactions: BitcoinTransaction[] } {
  const r = new TxReader(bytes);
  const header = r.take(80);
  const transactions = r.vector(() => readTransaction(r));
  r.assertEof();
  return { header, transactions };
}
