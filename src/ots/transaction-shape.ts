/**
 * Whether a message parses as a Bitcoin transaction, with python-bitcoinlib's rules
 * (`CTransaction.deserialize`: segwit marker handled, every byte consumed). `ots info` uses this to
 * label the node where a proof passes through a transaction, so `otsd info` does too.
 * @module
 */
import { Reader } from './serialize.js';

/** python-bitcoinlib's MAX_SIZE: no single read may ask for more. */
const MAX_SIZE = 0x02000000;

class TxReader extends Reader {
  take(n: number): void {
    if (n > MAX_SIZE) throw new RangeError('MAX_SIZE exceeded');
    this.readBytes(n);
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
  varBytes(): void {
    this.take(this.compactSize());
  }
  vector(readItem: () => void): number {
    const count = this.compactSize();
    // Each item consumes at least one byte, so a bogus count ends in a truncation, not a long loop.
    for (let i = 0; i < count; i++) readItem();
    return count;
  }
}

export function parsesAsTransaction(msg: Uint8Array): boolean {
  const r = new TxReader(msg);
  const txIn = (): void => {
    r.take(36);
    r.varBytes();
    r.take(4);
  };
  const txOut = (): void => {
    r.take(8);
    r.varBytes();
  };
  try {
    r.take(4);
    const marker = r.readByte();
    const flag = r.readByte();
    if (marker === 0 && flag === 1) {
      const inputs = r.vector(txIn);
      r.vector(txOut);
      for (let i = 0; i < inputs; i++) r.vector(() => r.varBytes());
    } else {
      r.offset -= 2;
      r.vector(txIn);
      r.vector(txOut);
    }
    r.take(4);
    return r.remaining === 0;
  } catch {
    return false;
  }
}
