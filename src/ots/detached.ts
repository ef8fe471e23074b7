/**
 * Detached timestamp files (`.ots`): header magic, major version 1, the file hash op, the file digest,
 * then the timestamp of that digest; nothing may follow.
 * @module
 */
import { copyOfBytes, toHex } from './bytes.js';
import { DeserializationError, OtsValueError, UnsupportedMajorVersionError } from './errors.js';
import { type CryptOp, cryptOpByTag } from './op.js';
import { Reader, varUintLength, Writer } from './serialize.js';
import { serializedLength, Timestamp, type TimestampReadOptions } from './timestamp.js';

/** "\x00OpenTimestamps\x00\x00Proof\x00" followed by 8 bytes chosen to read as binary data. */
export const HEADER_MAGIC = new Uint8Array([
  ...new TextEncoder().encode('\x00OpenTimestamps\x00\x00Proof\x00'),
  0xbf,
  0x89,
  0xe2,
  0xe8,
  0x84,
  0xe8,
  0x92,
  0x94,
]);
export const MAJOR_VERSION = 1;

export class DetachedTimestampFile {
  readonly fileHashOp: CryptOp;
  readonly timestamp: Timestamp;

  constructor(fileHashOp: CryptOp, timestamp: Timestamp) {
    if (timestamp.msg.length !== fileHashOp.digestLength) {
      throw new OtsValueError(
        `DetachedTimestampFile: ${fileHashOp} digest is ${fileHashOp.digestLength} bytes, timestamp message is ${timestamp.msg.length}`,
      );
    }
    this.fileHashOp = fileHashOp;
    this.timestamp = timestamp;
  }

  /** The digest of the timestamped file. */
  get fileDigest(): Uint8Array {
    return this.timestamp.msg;
  }

  /** A new, empty timestamp of `data` hashed with `fileHashOp`. */
  static fromData(fileHashOp: CryptOp, data: Uint8Array): DetachedTimestampFile {
    return new DetachedTimestampFile(fileHashOp, new Timestamp(fileHashOp.hashData(data)));
  }

  toBytes(): Uint8Array {
    const w = new Writer(
      HEADER_MAGIC.length +
        varUintLength(MAJOR_VERSION) +
        1 +
        this.fileDigest.length +
        serializedLength(this.timestamp),
    );
    w.writeBytes(HEADER_MAGIC);
    w.writeVarUint(MAJOR_VERSION);
    this.fileHashOp.write(w);
    w.writeBytes(this.fileDigest);
    this.timestamp.write(w);
    return w.toBytes();
  }

  /** The file and its tree hold a copy of `bytes`, so a caller may reuse them. */
  static fromBytes(bytes: Uint8Array, options?: TimestampReadOptions): DetachedTimestampFile {
    const r = new Reader(copyOfBytes(bytes, 'DetachedTimestampFile.fromBytes'));
    r.assertMagic(HEADER_MAGIC);
    const versionAt = r.offset;
    const major = r.readVarUint();
    if (major !== MAJOR_VERSION) {
      throw new UnsupportedMajorVersionError(
        `Version ${major} detached timestamp files are not supported`,
        versionAt,
      );
    }
    const tag = r.readByte();
    const fileHashOp = cryptOpByTag(tag);
    if (!fileHashOp) {
      throw new DeserializationError(
        `Unknown crypto op tag 0x${tag.toString(16).padStart(2, '0')}`,
        r.offset - 1,
      );
    }
    const digest = r.readBytes(fileHashOp.digestLength);
    const timestamp = Timestamp.read(r, digest, options);
    r.assertEof();
    return new DetachedTimestampFile(fileHashOp, timestamp);
  }

  toString(): string {
    return `DetachedTimestampFile(<${this.fileHashOp}:${toHex(this.fileDigest)}>)`;
  }
}
