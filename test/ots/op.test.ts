import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  fromHex,
  MsgValueError,
  type Op,
  OpAppend,
  OpArgValueError,
  OpHexlify,
  OpKECCAK256,
  OpPrepend,
  OpReverse,
  OpRIPEMD160,
  OpSHA1,
  OpSHA256,
  Reader,
  toHex,
  Writer,
} from 'otsd/ots';
import { opArb } from './arbitraries.js';

// Digests of "" and "\x80", from python-opentimestamps' test_op.py and this machine's reference.
const DIGESTS = [
  [new OpSHA1(), 'da39a3ee5e6b4b0d3255bfef95601890afd80709', 'c78ebd3c85a39a596d9f5cfd2b8d240bc1b9c125'],
  [new OpRIPEMD160(), '9c1185a5c5e9fc54612808977ee8f548b2258d31', 'b436441e6bb882fe0a0fa0320cb2d97d96b4d1bc'],
  [
    new OpSHA256(),
    'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    '76be8b528d0075f7aae98d6fa57a6d3c83ae480a8469e668d7b0af968995ac71',
  ],
  [
    new OpKECCAK256(),
    'c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470',
    '56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421',
  ],
] as const;

describe('crypto ops', () => {
  for (const [op, empty, x80] of DIGESTS) {
    it(`${op.name} digests`, () => {
      assert.equal(toHex(op.call(new Uint8Array())), empty);
      assert.equal(toHex(op.call(fromHex('80'))), x80);
      assert.equal(op.call(new Uint8Array()).byteLength, op.digestLength);
    });
  }
  it('refuse messages over 4096 bytes, but hash whole files', () => {
    const op = new OpSHA256();
    assert.doesNotThrow(() => op.call(new Uint8Array(4096)));
    assert.throws(() => op.call(new Uint8Array(4097)), MsgValueError);
    assert.equal(op.hashData(new Uint8Array(100_000)).byteLength, 32);
  });
});

describe('append and prepend', () => {
  it('concatenate', () => {
    assert.equal(toHex(new OpAppend(fromHex('bb')).call(fromHex('aa'))), 'aabb');
    assert.equal(toHex(new OpPrepend(fromHex('bb')).call(fromHex('aa'))), 'bbaa');
  });
  it('take 1..4096-byte arguments', () => {
    assert.throws(() => new OpAppend(new Uint8Array()), OpArgValueError);
    assert.throws(() => new OpPrepend(new Uint8Array(4097)), OpArgValueError);
    assert.doesNotThrow(() => new OpAppend(new Uint8Array(4096)));
  });
  it('refuse a result over 4096 bytes', () => {
    assert.doesNotThrow(() => new OpAppend(fromHex('00')).call(new Uint8Array(4095)));
    assert.throws(
      () => new OpAppend(fromHex('00')).call(new Uint8Array(4096)),
      /result too long; 4097 > 4096/,
    );
  });
});

describe('reverse and hexlify', () => {
  it('reverse', () => {
    assert.equal(toHex(new OpReverse().call(fromHex('010203'))), '030201');
    assert.throws(() => new OpReverse().call(new Uint8Array()), MsgValueError);
  });
  it('hexlify gives lower-case ASCII hex of at most 2048 bytes', () => {
    assert.equal(new TextDecoder().decode(new OpHexlify().call(fromHex('abCD'.toLowerCase()))), 'abcd');
    assert.throws(() => new OpHexlify().call(new Uint8Array()), MsgValueError);
    assert.doesNotThrow(() => new OpHexlify().call(new Uint8Array(2048)));
    assert.throws(() => new OpHexlify().call(new Uint8Array(2049)), /message too long; 2049 > 2048/);
  });
});

describe('op serialization', () => {
  it('writes tags and arguments as the reference', () => {
    const w = new Writer();
    new OpSHA256().write(w);
    new OpAppend(fromHex('aabb')).write(w);
    assert.equal(toHex(w.toBytes()), '08f002aabb');
  });
  it('reads every known tag and names the unknown one', () => {
    for (const hex of ['02', '03', '08', '67', 'f2', 'f3', 'f001aa', 'f101aa']) {
      const r = new Reader(fromHex(hex));
      const op = OpSHA256.read(r);
      r.assertEof();
      const w = new Writer();
      op.write(w);
      assert.equal(toHex(w.toBytes()), hex);
    }
    for (const tag of ['00', '01', '04', 'f4', 'ff']) {
      assert.throws(
        () => OpSHA256.read(new Reader(fromHex(tag))),
        new RegExp(`Unknown operation tag 0x${tag}`),
      );
    }
  });
  it('sorts by tag, then argument', () => {
    const ops = [
      new OpPrepend(fromHex('01')),
      new OpAppend(fromHex('02')),
      new OpSHA256(),
      new OpAppend(fromHex('01')),
    ];
    assert.deepEqual(ops.sort((a, b) => a.compare(b)).map(String), [
      'sha256',
      'append 01',
      'append 02',
      'prepend 01',
    ]);
  });
});

describe('resultLength', () => {
  /** What `f` gives, or the name and text of what it throws. */
  const outcome = (f: () => number): number | string => {
    try {
      return f();
    } catch (e) {
      return `${(e as Error).name}: ${(e as Error).message}`;
    }
  };
  // Arguments up to the limit, so that results pass it; message lengths around every limit.
  const anyOp: fc.Arbitrary<Op> = fc.oneof(
    opArb,
    fc.integer({ min: 1, max: 4096 }).map((n) => new OpAppend(new Uint8Array(n))),
    fc.integer({ min: 1, max: 4096 }).map((n) => new OpPrepend(new Uint8Array(n))),
  );
  const msgLength = fc.oneof(
    fc.nat(80),
    fc.integer({ min: 2040, max: 2056 }),
    fc.integer({ min: 4088, max: 4100 }),
  );

  it("is the length of call's result, and refuses what call refuses with the same error", () => {
    fc.assert(
      fc.property(anyOp, msgLength, fc.uint8Array({ minLength: 1, maxLength: 1 }), (op, n, [fill]) => {
        const msg = new Uint8Array(n).fill(fill as number);
        assert.equal(
          outcome(() => op.resultLength(n)),
          outcome(() => op.call(msg).length),
        );
      }),
      { numRuns: 2000 },
    );
  });
});
