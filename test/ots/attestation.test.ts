import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  Attestation,
  BitcoinBlockHeaderAttestation,
  DeserializationError,
  EthereumBlockHeaderAttestation,
  fromHex,
  LitecoinBlockHeaderAttestation,
  OtsValueError,
  PendingAttestation,
  Reader,
  TrailingGarbageError,
  toHex,
  UnknownAttestation,
  Writer,
} from 'otsd/ots';
import { headerWithRoot } from './vectors.js';

const bytesOf = (a: Attestation): string => {
  const w = new Writer();
  a.write(w);
  return toHex(w.toBytes());
};
const read = (hex: string): Attestation => {
  const r = new Reader(fromHex(hex));
  const a = Attestation.read(r);
  r.assertEof();
  return a;
};

// Byte strings from python-opentimestamps' test_notary.py and dubious/test_notary.py.
const VALID: [Attestation, string][] = [
  [new PendingAttestation('foobar'), '83dfe30d2ef90c8e' + '07' + '06666f6f626172'],
  [new BitcoinBlockHeaderAttestation(0), '0588960d73d71901' + '01' + '00'],
  [new LitecoinBlockHeaderAttestation(358391), '06869a0d73d71b45' + '03' + 'f7ef15'],
  [new EthereumBlockHeaderAttestation(0), '30fe8087b5c7ead7' + '01' + '00'],
  [
    new UnknownAttestation(fromHex('0102030405060708'), new TextEncoder().encode('Hello World!')),
    '0102030405060708' + '0c' + '48656c6c6f20576f726c6421',
  ],
];

describe('attestation bytes', () => {
  for (const [attestation, hex] of VALID) {
    it(`${attestation}`, () => {
      assert.equal(bytesOf(attestation), hex);
      const back = read(hex);
      assert.equal(back.constructor, attestation.constructor);
      assert.ok(back.equals(attestation));
    });
  }
});

describe('pending attestation URI', () => {
  it('allows 1000 bytes of the allowed characters', () => {
    const uri = 'x'.repeat(1000);
    assert.equal((read(bytesOf(new PendingAttestation(uri))) as PendingAttestation).uri, uri);
    assert.doesNotThrow(() => new PendingAttestation('https://a-b.c_d:8080/x/y'));
  });
  it('refuses 1001 bytes, when built and when read', () => {
    assert.throws(() => new PendingAttestation('x'.repeat(1001)), OtsValueError);
    const payload = `e907${'78'.repeat(1001)}`;
    assert.throws(() => read(`83dfe30d2ef90c8eeb07${payload}`), DeserializationError);
  });
  it('refuses characters outside A-Z a-z 0-9 - . _ / :', () => {
    for (const bad of ['%', '?', '#', '@', '[', ' ', '\u00e9']) {
      assert.throws(() => new PendingAttestation(`http://x${bad}`), OtsValueError, bad);
    }
    assert.throws(() => read('83dfe30d2ef90c8e' + '02' + '0125'), /Invalid URI/);
  });
});

describe('payload rules', () => {
  it('a known kind must use every payload byte', () => {
    assert.throws(() => read('83dfe30d2ef90c8e' + '08' + '06666f6f62617200'), TrailingGarbageError);
    assert.throws(() => read('0588960d73d71901' + '02' + '0000'), TrailingGarbageError);
  });
  it('payloads are at most 8192 bytes', () => {
    const tag = '0102030405060708';
    assert.doesNotThrow(() => read(`${tag}8040${'00'.repeat(8192)}`));
    assert.throws(() => read(`${tag}8140${'00'.repeat(8193)}`), /max length exceeded; 8193 > 8192/);
    assert.throws(() => new UnknownAttestation(fromHex(tag), new Uint8Array(8193)), OtsValueError);
  });
  it('heights are non-negative integers', () => {
    assert.throws(() => new BitcoinBlockHeaderAttestation(-1), OtsValueError);
    assert.throws(() => new BitcoinBlockHeaderAttestation(1.5), OtsValueError);
  });
  it('errors inside a payload report the offset in the whole input', () => {
    assert.throws(
      () => read('0588960d73d71901' + '02' + '8080'),
      (e) => e instanceof DeserializationError && e.offset === 11,
    );
  });
});

describe('attestation order', () => {
  it('sorts by tag, then height, URI or payload, as the reference', () => {
    const unknown = (tag: string, payload: string) => new UnknownAttestation(fromHex(tag), fromHex(payload));
    const sorted = [
      new PendingAttestation('b'),
      unknown('ffffffffffffffff', '01'),
      new BitcoinBlockHeaderAttestation(200),
      new EthereumBlockHeaderAttestation(1),
      new PendingAttestation('a'),
      new BitcoinBlockHeaderAttestation(3),
      new LitecoinBlockHeaderAttestation(1),
      unknown('ffffffffffffffff', '00'),
      unknown('0000000000000000', 'ff'),
    ].sort((a, b) => a.compare(b));
    assert.deepEqual(sorted.map(String), [
      "UnknownAttestation(b'\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00', b'\\xff')",
      'BitcoinBlockHeaderAttestation(3)',
      'BitcoinBlockHeaderAttestation(200)',
      'LitecoinBlockHeaderAttestation(1)',
      'EthereumBlockHeaderAttestation(1)',
      "PendingAttestation('a')",
      "PendingAttestation('b')",
      "UnknownAttestation(b'\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff', b'\\x00')",
      "UnknownAttestation(b'\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff', b'\\x01')",
    ]);
  });
});

describe('Bitcoin header verification', () => {
  const root = fromHex('8a1b66ecb7cbd07d8139a7e7d7f2c41aab1f5009b8364aaf61d03ad245e47e00').reverse();
  const header = headerWithRoot(root, 1432827678);
  const attestation = new BitcoinBlockHeaderAttestation(358391);

  it('returns nTime when the digest is the merkle root (internal byte order)', () => {
    assert.equal(attestation.verifyAgainstBlockHeader(root, header), 1432827678);
  });
  it('fails on another root, a digest of the wrong length, or a header of the wrong length', () => {
    assert.throws(
      () => attestation.verifyAgainstBlockHeader(fromHex('00'.repeat(32)), header),
      /does not match merkleroot/,
    );
    assert.throws(
      () => attestation.verifyAgainstBlockHeader(root.subarray(1), header),
      /Expected digest with length 32/,
    );
    assert.throws(() => attestation.verifyAgainstBlockHeader(root, header.subarray(1)), /expected 80 bytes/);
  });
});
