"""python-opentimestamps' RemoteCalendar against a calendar, as the `ots` client uses it.

usage: python_client.py URL submit N      -> one JSON line per digest: digest, commitment, timestamp
       python_client.py URL get HEX...     -> one JSON line per commitment: the answer or the error
"""
import json
import os
import sys

from opentimestamps.calendar import CommitmentNotFoundError, RemoteCalendar
from opentimestamps.core.notary import BitcoinBlockHeaderAttestation, PendingAttestation
from opentimestamps.core.serialize import BytesSerializationContext


def ser(ts):
    ctx = BytesSerializationContext()
    ts.serialize(ctx)
    return ctx.getbytes().hex()


def main():
    url, cmd, *args = sys.argv[1:]
    calendar = RemoteCalendar(url)
    if cmd == 'submit':
        for _ in range(int(args[0])):
            digest = os.urandom(32)
            ts = calendar.submit(digest, timeout=10)
            pending = [(msg, att) for msg, att in ts.all_attestations() if isinstance(att, PendingAttestation)]
            assert len(pending) == 1 and pending[0][1].uri == url, pending
            print(json.dumps({'digest': digest.hex(), 'commitment': pending[0][0].hex(), 'timestamp': ser(ts)}))
    elif cmd == 'get':
        for hex_commitment in args:
            try:
                ts = calendar.get_timestamp(bytes.fromhex(hex_commitment), timeout=10)
            except CommitmentNotFoundError as e:
                print(json.dumps({'commitment': hex_commitment, 'not_found': e.reason}))
                continue
            heights = sorted(att.height for msg, att in ts.all_attestations()
                             if isinstance(att, BitcoinBlockHeaderAttestation))
            print(json.dumps({'commitment': hex_commitment, 'heights': heights, 'timestamp': ser(ts)}))
    sys.stdout.flush()


if __name__ == '__main__':
    main()
