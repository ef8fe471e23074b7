/** The nodes of a timestamp tree that carry a pending attestation: where a calendar's proof merges in. */
import { PendingAttestation, type Timestamp } from '../ots/index.js';

export interface PendingNode {
  node: Timestamp;
  attestation: PendingAttestation;
}

export function pendingNodes(root: Timestamp): PendingNode[] {
  const found: PendingNode[] = [];
  const walk = (node: Timestamp) => {
    for (const a of node.attestations)
      if (a instanceof PendingAttestation) found.push({ node, attestation: a });
    for (const [, child] of node.ops) walk(child);
  };
  walk(root);
  return found;
}
