"""python-opentimestamps as a test oracle for otsd.

Reads one JSON request per line on stdin, writes one JSON answer per line on stdout. Byte strings
travel as hex. Every answer is {"ok": true, ...} or {"ok": false, "error": <class name>, "message": ...}.
"""
import hashlib
import json
import random
import sys
import time
import warnings

from opentimestamps.core.dubious.notary import EthereumBlockHeaderAttestation
from opentimestamps.core.notary import (BitcoinBlockHeaderAttestation, LitecoinBlockHeaderAttestation,
                                        PendingAttestation, UnknownAttestation)
from opentimestamps.core.op import (OpAppend, OpHexlify, OpKECCAK256, OpPrepend, OpReverse, OpRIPEMD160,
                                    OpSHA1, OpSHA256, MsgValueError)
from opentimestamps.core.serialize import BytesDeserializationContext, BytesSerializationContext
from opentimestamps.core.timestamp import DetachedTimestampFile, Timestamp, make_merkle_tree

warnings.simplefilter('ignore')  # OpReverse warns on every use


def ser(obj):
    ctx = BytesSerializationContext()
    obj.serialize(ctx)
    return ctx.getbytes()


def parse_tree(msg, data):
    ctx = BytesDeserializationContext(data)
    ts = Timestamp.deserialize(ctx, msg)
    ctx.assert_eof()
    return ts


def parse_file(data):
    return DetachedTimestampFile.deserialize(BytesDeserializationContext(data))


URI_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._/:'
KNOWN_TAGS = {PendingAttestation.TAG, BitcoinBlockHeaderAttestation.TAG, LitecoinBlockHeaderAttestation.TAG,
              EthereumBlockHeaderAttestation.TAG}


def random_attestation(rng):
    kind = rng.randrange(5)
    if kind == 0:
        return PendingAttestation(''.join(rng.choice(URI_CHARS) for _ in range(rng.randrange(40))))
    if kind in (1, 2, 3):
        cls = (BitcoinBlockHeaderAttestation, LitecoinBlockHeaderAttestation, EthereumBlockHeaderAttestation)[kind - 1]
        return cls(rng.randrange(2 ** rng.choice((7, 14, 21, 32, 40))))
    while True:
        tag = bytes(rng.randrange(256) for _ in range(8))
        if tag not in KNOWN_TAGS:
            return UnknownAttestation(tag, bytes(rng.randrange(256) for _ in range(rng.randrange(60))))


def random_op(rng):
    kind = rng.randrange(8)
    if kind < 6:
        return (OpSHA1, OpRIPEMD160, OpSHA256, OpKECCAK256, OpReverse, OpHexlify)[kind]()
    arg = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 48)))
    return (OpAppend, OpPrepend)[kind - 6](arg)


def grow(rng, ts, depth):
    for _ in range(rng.randrange(3) if depth < 6 else 0):
        ts.attestations.add(random_attestation(rng))
    for _ in range(rng.randrange(4) if depth < 6 else 0):
        op = random_op(rng)
        try:
            child = ts.ops.add(op)
        except MsgValueError:
            continue
        grow(rng, child, depth + 1)
    if not ts.attestations and not ts.ops:
        ts.attestations.add(random_attestation(rng))


def random_trees(seed, count):
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        ts = Timestamp(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64))))
        grow(rng, ts, 0)
        out.append({'msg': ts.msg.hex(), 'data': ser(ts).hex()})
    return out


def merkle_root_of_hashes(leaves):
    """make_merkle_tree's pairing on bare 32-byte hashes: sha256(left || right) left to right, an odd
    last item carried up unhashed (what a calendar that keeps hashes, not Timestamp objects, would do)."""
    level = leaves
    while len(level) > 1:
        up = [hashlib.sha256(level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            up.append(level[-1])
        level = up
    return level[0]


BENCH = {}


def bench_setup(req):
    """Keeps the inputs of bench/ots.ts for the `bench_round` requests that follow."""
    BENCH['msg'], BENCH['data'] = bytes.fromhex(req['msg']), bytes.fromhex(req['data'])
    BENCH['ts'] = parse_tree(BENCH['msg'], BENCH['data'])
    BENCH['leaves'] = [bytes.fromhex(h) for h in req['leaves']]
    return {}


def bench_round(req):
    """Times `count` runs of one row of bench/ots.ts, the same work it times, in this process: the
    process's CPU time, as bench/ots.ts counts its own."""
    msg, data, ts, leaves = BENCH['msg'], BENCH['data'], BENCH['ts'], BENCH['leaves']
    row, count, trees, root = req['row'], req['count'], [], None
    t = time.process_time()
    if row == 'parse':
        for _ in range(count):
            parse_tree(msg, data)
    elif row == 'serialize':
        for _ in range(count):
            ser(ts)
    elif row == 'merkle':
        for _ in range(count):
            trees.append(make_merkle_tree([Timestamp(leaf) for leaf in leaves]))
    elif row == 'merkle_hashes':
        for _ in range(count):
            root = merkle_root_of_hashes(leaves)
    else:
        raise ValueError('unknown bench row %r' % row)
    if trees:
        root = trees[-1].msg
        # freed on the clock, as bench/ots.ts's collector frees its trees on its own clock
        trees.clear()
    seconds = time.process_time() - t
    return {'seconds': seconds, 'tip': root.hex() if root else None}


def handle(req):
    cmd = req['cmd']
    if cmd == 'tree':
        ts = parse_tree(bytes.fromhex(req['msg']), bytes.fromhex(req['data']))
        return {'out': ser(ts).hex(), 'info': ts.str_tree()}
    if cmd == 'file':
        return {'out': ser(parse_file(bytes.fromhex(req['data']))).hex()}
    if cmd == 'random_trees':
        return {'trees': random_trees(req['seed'], req['count'])}
    if cmd == 'merkle':
        leaves = [Timestamp(bytes.fromhex(h)) for h in req['leaves']]
        tip = make_merkle_tree(leaves)
        tip.attestations.add(PendingAttestation('merkle'))
        return {'tip': tip.msg.hex(), 'paths': [ser(leaf).hex() for leaf in leaves]}
    if cmd == 'merge':
        msg = bytes.fromhex(req['msg'])
        ts = Timestamp(msg)
        for part in req['parts']:
            ts.merge(parse_tree(msg, bytes.fromhex(part)))
        return {'out': ser(ts).hex()}
    if cmd == 'bench_setup':
        return bench_setup(req)
    if cmd == 'bench_round':
        return bench_round(req)
    raise ValueError('unknown command %r' % cmd)


def main():
    for line in sys.stdin:
        try:
            answer = dict(ok=True, **handle(json.loads(line)))
        except Exception as e:  # the error class is the answer
            answer = {'ok': False, 'error': e.__class__.__name__, 'message': str(e)}
        sys.stdout.write(json.dumps(answer) + '\n')
        sys.stdout.flush()


if __name__ == '__main__':
    main()
