/**
 * The 80-byte Bitcoin block header, as far as timestamp verification needs it. Litecoin shares the
 * layout. Hashes are kept in internal byte order; explorers and RPC print them reversed.
 * @module
 */
import { reverseBytes, toHex } from './bytes.js';
import { OtsValueError } from './errors.js';
import { sha256d } from './hash.js';

export const BLOCK_HEADER_LENGTH = 80;

export class BlockHeader {
  readonly bytes: Uint8Array;

  constructor(bytes: Uint8Array) {
    if (bytes.length !== BLOCK_HEADER_LENGTH) {
      throw new OtsValueError(`BlockHeader: expected ${BLOCK_HEADER_LENGTH} bytes, got ${bytes.length}`);
    }
    this.bytes = bytes;
  }

  private get view(): DataView {
    return new DataView(this.bytes.buffer, this.bytes.byteOffset, BLOCK_HEADER_LENGTH);
  }

  get version(): number {
    return this.view.getInt32(0, true);
  }
  get prevBlockHash(): Uint8Array {
    return this.bytes.subarray(4, 36);
  }
  /** Merkle root in internal byte order: what a BitcoinBlockHeaderAttestation's message must equal. */
  get merkleRoot(): Uint8Array {
    return this.bytes.subarray(36, 68);
  }
  /** nTime, seconds since the epoch: the time the attestation proves. */
  get time(): number {
    return this.view.getUint32(68, true);
  }
  get bits(): number {
    return this.view.getUint32(72, true);
  }
  get nonce(): number {
    return this.view.getUint32(76, true);
  }
  /** The block hash in display order (as `getblockhash` prints it). */
  get hashHex(): string {
    return toHex(reverseBytes(sha256d(this.bytes)));
  }
}
