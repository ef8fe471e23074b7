"""Verifies a calendar's proofs with python-opentimestamps against block headers from a node.

usage: python_verify.py CALENDAR_URL NODE_RPC_URL COMMITMENT_HEX...
Prints one JSON line per commitment: the heights whose header verified, and the attested times.
"""
import binascii
import json
import sys
import urllib.request
import base64

from opentimestamps.calendar import RemoteCalendar
from opentimestamps.core.notary import BitcoinBlockHeaderAttestation
import bitcoin.core


def rpc(url, method, *params):
    parsed = urllib.parse.urlsplit(url)
    req = urllib.request.Request('%s://%s:%d/' % (parsed.scheme, parsed.hostname, parsed.port),
                                 json.dumps({'method': method, 'params': params, 'id': 1}).encode())
    auth = base64.b64encode(('%s:%s' % (urllib.parse.unquote(parsed.username), urllib.parse.unquote(parsed.password))).encode())
    req.add_header('Authorization', 'Basic ' + auth.decode())
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())['result']


def main():
    calendar_url, node_url, *commitments = sys.argv[1:]
    calendar = RemoteCalendar(calendar_url)
    for hex_commitment in commitments:
        ts = calendar.get_timestamp(bytes.fromhex(hex_commitment), timeout=30)
        verified = []
        for msg, att in ts.all_attestations():
            if isinstance(att, BitcoinBlockHeaderAttestation):
                header_hex = rpc(node_url, 'getblockheader', rpc(node_url, 'getblockhash', att.height), False)
                header = bitcoin.core.CBlockHeader.deserialize(binascii.unhexlify(header_hex))
                verified.append({'height': att.height, 'time': att.verify_against_blockheader(msg, header),
                                 'header': header_hex})
        print(json.dumps({'commitment': hex_commitment, 'verified': verified}))


if __name__ == '__main__':
    import urllib.parse
    main()
