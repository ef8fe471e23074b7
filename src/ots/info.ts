/**
 * Human-readable rendering of timestamps, line for line as the reference client's `ots info` prints
 * them (python-opentimestamps `Timestamp.str_tree` at verbosity 0).
 * @module
 */
import { BitcoinBlockHeaderAttestation, LitecoinBlockHeaderAttestation } from './attestation.js';
import { parsesAsTransaction } from './bitcoin-tx.js';
import { reverseBytes, toHex } from './bytes.js';
import type { DetachedTimestampFile } from './detached.js';
import { sha256d } from './hash.js';
import type { Timestamp } from './timestamp.js';

/** The tree below `timestamp`, one op or attestation per line; forks indent their branches by 4. */
export function strTree(timestamp: Timestamp, indent = 0): string {
  const pad = ' '.repeat(indent);
  let out = '';
  for (const attestation of timestamp.attestations.sorted()) {
    out += `${pad}verify ${attestation}\n`;
    if (attestation instanceof BitcoinBlockHeaderAttestation) {
      out += `${pad}# Bitcoin block merkle root ${toHex(reverseBytes(timestamp.msg))}\n`;
    } else if (attestation instanceof LitecoinBlockHeaderAttestation) {
      out += `${pad}# Litecoin block merkle root ${toHex(reverseBytes(timestamp.msg))}\n`;
    }
  }
  const txid = (): string => toHex(reverseBytes(sha256d(timestamp.msg)));
  const ops = timestamp.ops.sorted();
  if (ops.length > 1) {
    const isTx = parsesAsTransaction(timestamp.msg);
    for (const [op, child] of ops) {
      if (isTx) out += `${pad}* Transaction id ${txid()}\n`;
      out += `${pad} -> ${op}\n${strTree(child, indent + 4)}`;
    }
  } else if (ops.length === 1) {
    const [op, child] = ops[0] as [unknown, Timestamp];
    if (parsesAsTransaction(timestamp.msg)) out += `${pad}# Transaction id ${txid()}\n`;
    out += `${pad}${op}\n${strTree(child, indent)}`;
  }
  return out;
}

/** What `ots info FILE.ots` prints for a detached timestamp file. */
export function formatInfo(file: DetachedTimestampFile): string {
  return `File ${file.fileHashOp.name} hash: ${toHex(file.fileDigest)}\nTimestamp:\n${strTree(file.timestamp)}\n`;
}
