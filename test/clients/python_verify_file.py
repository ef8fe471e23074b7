"""Reads a .ots file with python-opentimestamps, as `ots info` and `ots verify` do.

usage: python_verify_file.py FILE.ots ORIGINAL [NODE_RPC_URL]
Prints one JSON line: whether ORIGINAL's digest is the file's, the ops from the file digest to the
first fork or attestation, the pending attestations' URIs, and each Bitcoin attestation checked
against the node's block header at its height (when NODE_RPC_URL is given).
"""
import binascii
import hashlib
import json
import sys

from opentimestamps.core.notary import BitcoinBlockHeaderAttestation, PendingAttestation
from opentimestamps.core.serialize import BytesDeserializationContext
from opentimestamps.core.timestamp import DetachedTimestampFile
import bitcoin.core

from python_verify import rpc


def main():
    ots_path, original_path, *node = sys.argv[1:]
    with open(ots_path, 'rb') as f:
        detached = DetachedTimestampFile.deserialize(BytesDeserializationContext(f.read()))
    with open(original_path, 'rb') as f:
        digest_matches = hashlib.sha256(f.read()).digest() == detached.file_digest
    ops = []
    stamp = detached.timestamp
    while len(stamp.ops) == 1 and not stamp.attestations:
        op, stamp = next(iter(stamp.ops.items()))
        ops.append(str(op))
    pending, verified = [], []
    for msg, att in detached.timestamp.all_attestations():
        if isinstance(att, PendingAttestation):
            pending.append(att.uri)
        elif isinstance(att, BitcoinBlockHeaderAttestation) and node:
            header_hex = rpc(node[0], 'getblockheader', rpc(node[0], 'getblockhash', att.height), False)
            header = bitcoin.core.CBlockHeader.deserialize(binascii.unhexlify(header_hex))
            verified.append({'height': att.height, 'time': att.verify_against_blockheader(msg, header),
                             'header': header_hex})
    print(json.dumps({'hash_op': detached.file_hash_op.TAG_NAME, 'digest_matches': digest_matches,
                      'ops': ops, 'pending': pending, 'verified': verified}))


if __name__ == '__main__':
    main()
