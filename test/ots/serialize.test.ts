import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeserializationError, fromHex, MAX_VARUINT, Reader, TruncationError, toHex, Writer } from 'otsd/ots';

// Values and encodings checked against python-opentimestamps' write_varuint.
const VARUINTS: [number, string][] = [
  [0, '00'],
  [1, '01'],
  [127, '7f'],
  [128, '8001'],
  [300, 'ac02'],
  [1000, 'e807'],
  [16384, '808001'],
  [358391, 'f7ef15'],
  [2 ** 32, '8080808010'],
  [MAX_VARUINT, 'ffffffffffffff0f'],
];

describe('varuint', () => {
  for (const [value, hex] of VARUINTS) {
    it(`${value} <-> ${hex}`, () => {
      const w = new Writer();
      w.writeVarUint(value);
      assert.equal(toHex(w.toBytes()), hex);
      const r = new Reader(fromHex(hex));
      assert.equal(r.readVarUint(), value);
      r.assertEof();
    });
  }

  it('accepts a non-minimal encoding, as the reference does', () => {
    assert.equal(new Reader(fromHex('8000')).readVarUint(), 0);
  });

  it('rejects a value above 2^53-1 with its offset', () => {
    const r = new Reader(fromHex('aa' + 'ffffffffffffff7f'));
    r.readByte();
    assert.throws(
      () => r.readVarUint(),
      (e) => e instanceof DeserializationError && e.offset === 1,
    );
  });

  it('rejects a varuint that never ends as a truncation', () => {
    assert.throws(() => new Reader(fromHex('ffff')).readVarUint(), TruncationError);
  });

  it('refuses to write negative or fractional values', () => {
    assert.throws(() => new Writer().writeVarUint(-1), RangeError);
    assert.throws(() => new Writer().writeVarUint(1.5), RangeError);
  });
});

describe('varbytes', () => {
  it('checks the bounds before reading', () => {
    assert.throws(() => new Reader(fromHex('05')).readVarBytes(4), /max length exceeded; 5 > 4/);
    assert.throws(() => new Reader(fromHex('00')).readVarBytes(4, 1), /min length not met; 0 < 1/);
    assert.throws(() => new Reader(fromHex('03aabb')).readVarBytes(4), TruncationError);
    assert.equal(toHex(new Reader(fromHex('02aabb')).readVarBytes(2)), 'aabb');
  });
});

describe('Writer', () => {
  it('hands out its buffer when exactly full, and later writes do not change what it handed out', () => {
    const w = new Writer(3);
    w.writeBytes(fromHex('aabbcc'));
    const full = w.toBytes();
    w.writeByte(0xdd);
    w.writeBytes(fromHex('eeff'));
    assert.equal(toHex(full), 'aabbcc');
    assert.equal(toHex(w.toBytes()), 'aabbccddeeff');
  });

  it('grows past its capacity, from nothing too', () => {
    const w = new Writer(0);
    for (let i = 0; i < 300; i++) w.writeByte(i & 0xff);
    const out = w.toBytes();
    assert.equal(out.length, 300);
    assert.equal(out[299], 299 & 0xff);
  });
});
