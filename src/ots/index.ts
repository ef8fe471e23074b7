/**
 * `otsd/ots`: the OpenTimestamps proof format, byte-compatible with python-opentimestamps. Pure: no
 * I/O, nothing from the server.
 * @module
 */
export {
  ATTESTATION_TAG_LENGTH,
  Attestation,
  BitcoinBlockHeaderAttestation,
  EthereumBlockHeaderAttestation,
  LitecoinBlockHeaderAttestation,
  MAX_ATTESTATION_PAYLOAD,
  MAX_URI_LENGTH,
  PendingAttestation,
  UnknownAttestation,
} from './attestation.js';
export {
  type BitcoinTransaction,
  parseBlock,
  parsesAsTransaction,
  parseTransaction,
  serializedSize,
  type TxInput,
  type TxOutput,
  virtualSize,
} from './bitcoin-tx.js';
export { BLOCK_HEADER_LENGTH, BlockHeader } from './block-header.js';
export { compareBytes, concatBytes, equalBytes, fromHex, reverseBytes, toHex } from './bytes.js';
export { DetachedTimestampFile, HEADER_MAGIC, MAJOR_VERSION } from './detached.js';
export {
  BadMagicError,
  DeserializationError,
  MsgValueError,
  OpArgValueError,
  OtsError,
  OtsValueError,
  RecursionLimitError,
  TrailingGarbageError,
  TruncationError,
  UnsupportedMajorVersionError,
  VerificationError,
} from './errors.js';
export { keccak256, ripemd160, sha1, sha256, sha256d } from './hash.js';
export { formatInfo, strTree } from './info.js';
export { catSha256, catSha256d, catThenUnaryOp, MerkleTree, makeMerkleTree } from './merkle.js';
export {
  BinaryOp,
  CryptOp,
  cryptOpByTag,
  MAX_MSG_LENGTH,
  MAX_RESULT_LENGTH,
  Op,
  OpAppend,
  OpHexlify,
  OpKECCAK256,
  OpPrepend,
  OpReverse,
  OpRIPEMD160,
  OpSHA1,
  OpSHA256,
  UnaryOp,
} from './op.js';
export { MAX_VARUINT, Reader, Writer } from './serialize.js';
export {
  type AttestationPath,
  AttestationSet,
  DEFAULT_MAX_MESSAGE_BYTES,
  OpSet,
  RECURSION_LIMIT,
  Timestamp,
  type TimestampReadOptions,
} from './timestamp.js';
