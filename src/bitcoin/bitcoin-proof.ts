/**
 * The timestamp from a stamping transaction's tip to a Bitcoin block header: the transaction's bytes
 * around the tip (non-witness serialization), sha256 twice (the txid), the block's merkle path
 * (sha256d, the odd last node paired with itself) and the BitcoinBlockHeaderAttestation.
 * @module
 */
import {
  BitcoinBlockHeaderAttestation,
  type BitcoinTransaction,
  BlockHeader,
  concatBytes,
  equalBytes,
  OpAppend,
  OpPrepend,
  OpSHA256,
  sha256d,
  Timestamp,
  toHex,
} from '../ots/index.js';

const SHA256 = new OpSHA256();

/** Where the 32-byte tip sits in the transaction's non-witness bytes: after `OP_RETURN PUSH32`. */
function tipOffset(tx: BitcoinTransaction, tip: Uint8Array): number {
  const needle = concatBytes(new Uint8Array([0x6a, 0x20]), tip);
  const bytes = Buffer.from(tx.nonWitnessBytes);
  const at = bytes.indexOf(Buffer.from(needle));
  if (at < 0) throw new Error(`transaction ${toHex(tx.txid)} does not commit to tip ${toHex(tip)}`);
  return at + 2;
}

/**
 * The timestamp of `tip` through `tx` (mined in the block at `height` with `header` and transaction
 * ids `txids`, internal order) to the block's merkle root, attested by the block at `height`.
 */
export function bitcoinTipTimestamp(
  tip: Uint8Array,
  tx: BitcoinTransaction,
  block: { height: number; header: Uint8Array; txids: Uint8Array[] },
): Timestamp {
  const at = tipOffset(tx, tip);
  const bytes = tx.nonWitnessBytes;
  const timestamp = new Timestamp(tip);
  let node = timestamp;
  if (at > 0) node = node.ops.add(new OpPrepend(bytes.subarray(0, at)));
  if (at + 32 < bytes.byteLength) node = node.ops.add(new OpAppend(bytes.subarray(at + 32)));
  node = node.ops.add(SHA256).ops.add(SHA256);

  let index = block.txids.findIndex((id) => equalBytes(id, tx.txid));
  if (index < 0) throw new Error(`transaction ${toHex(tx.txid)} is not in block ${block.height}`);
  let level = block.txids;
  while (level.length > 1) {
    const sibling = level[index ^ 1] ?? (level[index] as Uint8Array);
    node = node.ops
      .add(index % 2 === 0 ? new OpAppend(sibling) : new OpPrepend(sibling))
      .ops.add(SHA256)
      .ops.add(SHA256);
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) {
      next.push(sha256d(concatBytes(level[i] as Uint8Array, level[i + 1] ?? (level[i] as Uint8Array))));
    }
    level = next;
    index >>= 1;
  }
  if (!equalBytes(node.msg, new BlockHeader(block.header).merkleRoot)) {
    throw new Error(
      `block ${block.height}: merkle path of ${toHex(tx.txid)} does not reach the header's merkle root`,
    );
  }
  node.attestations.add(new BitcoinBlockHeaderAttestation(block.height));
  return timestamp;
}
