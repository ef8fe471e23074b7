import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  BadMagicError,
  BitcoinBlockHeaderAttestation,
  DetachedTimestampFile,
  fromHex,
  OpSHA256,
  PendingAttestation,
  reverseBytes,
  TrailingGarbageError,
  toHex,
  UnsupportedMajorVersionError,
} from 'otsd/ots';
import { headerWithRoot, VECTORS_DIR } from './vectors.js';

const vector = (name: string) => new Uint8Array(readFileSync(`${VECTORS_DIR}/${name}`));

/**
 * The real proofs in test/fixtures/vectors: the Bitcoin attestation each reaches (height, merkle root as
 * explorers print it; some roots are known only by their ends) and the digest it covers.
 */
const GOOD = [
  {
    file: 'hello-world.txt.ots',
    height: 358391,
    root: '8a1b66ecb7cbd07d8139a7e7d7f2c41aab1f5009b8364aaf61d03ad245e47e00',
    digest: '03ba204e50d126e4674c005e04d82e84c21366780af1f43bd54a37816b6ab340',
  },
  {
    file: 'empty.ots',
    height: 129405,
    root: 'db29fdc2c27a1531ae08a9dff2d9e4dfedd9c902d16de542d8666a27367e5b71',
    digest: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  },
  {
    file: 'bitcoin.pdf.ots',
    height: 465751,
    root: /^98989f8d.*0876$/,
    digest: '8de2fdb04edce612738eb51e14ecc426381f8ed8',
  },
  { file: 'different-blockchains.txt.ots', height: 455605, root: /^2a19192c.*e69a$/ },
  { file: 'gdp2q25-2nd.pdf.ots', height: 912095, root: /^93613199.*0039ae$/ },
];

describe('real proofs (test/fixtures/vectors)', () => {
  for (const { file, height, root, digest } of GOOD) {
    it(`${file} round-trips and its Bitcoin attestation verifies`, () => {
      const bytes = vector(file);
      const parsed = DetachedTimestampFile.fromBytes(bytes);
      assert.equal(toHex(parsed.toBytes()), toHex(bytes));
      if (digest) assert.equal(toHex(parsed.fileDigest), digest);
      const found = parsed.timestamp.shortestPathTo((a) => a instanceof BitcoinBlockHeaderAttestation);
      assert.ok(found, 'a Bitcoin attestation');
      const attestation = found.attestation as BitcoinBlockHeaderAttestation;
      assert.equal(attestation.height, height);
      const display = toHex(reverseBytes(found.msg));
      if (typeof root === 'string') assert.equal(display, root);
      else assert.match(display, root);
      assert.equal(
        attestation.verifyAgainstBlockHeader(found.msg, headerWithRoot(found.msg, 1234567890)),
        1234567890,
      );
      assert.throws(() =>
        attestation.verifyAgainstBlockHeader(found.msg, headerWithRoot(new Uint8Array(32), 1)),
      );
    });
  }

  it('hello-world.txt.ots covers hello-world.txt', () => {
    const parsed = DetachedTimestampFile.fromBytes(vector('hello-world.txt.ots'));
    const digest = new OpSHA256().hashData(vector('hello-world.txt'));
    assert.equal(toHex(digest), toHex(parsed.fileDigest));
  });

  it('bad-stamp.txt.ots does not verify against the real block 358391', () => {
    const parsed = DetachedTimestampFile.fromBytes(vector('bad-stamp.txt.ots'));
    const found = parsed.timestamp.shortestPathTo((a) => a instanceof BitcoinBlockHeaderAttestation);
    assert.ok(found);
    const realRoot = reverseBytes(fromHex(GOOD[0]?.root as string));
    assert.throws(
      () =>
        (found.attestation as BitcoinBlockHeaderAttestation).verifyAgainstBlockHeader(
          found.msg,
          headerWithRoot(realRoot, 1),
        ),
      /Digest does not match merkleroot/,
    );
  });

  for (const file of [
    'incomplete.txt.ots',
    'two-calendars.txt.ots',
    'merkle1.txt.ots',
    'merkle2.txt.ots',
    'merkle3.txt.ots',
    'unknown-notary.txt.ots',
    'known-and-unknown-notary.txt.ots',
    'bad-stamp.txt.ots',
  ]) {
    it(`${file} round-trips byte for byte`, () => {
      const bytes = vector(file);
      assert.equal(toHex(DetachedTimestampFile.fromBytes(bytes).toBytes()), toHex(bytes));
    });
  }

  it('pending and unknown attestations survive', () => {
    const parsed = DetachedTimestampFile.fromBytes(vector('known-and-unknown-notary.txt.ots'));
    const kinds = [...parsed.timestamp.allAttestations()].map(([, a]) => a.constructor.name).sort();
    assert.deepEqual(kinds, ['PendingAttestation', 'UnknownAttestation']);
  });
});

describe('detached file framing', () => {
  // The empty file's detached timestamp, from python-opentimestamps' test_timestamp.py
  const emptyFile =
    '004f70656e54696d657374616d7073000050726f6f6600bf89e2e884e89294' +
    '01' +
    '08' +
    'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' +
    '0083dfe30d2ef90c8e0706666f6f626172';

  it('writes magic, version, hash op, digest, tree', () => {
    const file = DetachedTimestampFile.fromData(new OpSHA256(), new Uint8Array());
    file.timestamp.attestations.add(new PendingAttestation('foobar'));
    assert.equal(toHex(file.toBytes()), emptyFile);
  });
  it('refuses a bad magic, another version, a non-crypto hash op, trailing bytes', () => {
    assert.throws(() => DetachedTimestampFile.fromBytes(fromHex(`ff${emptyFile.slice(2)}`)), BadMagicError);
    assert.throws(() => DetachedTimestampFile.fromBytes(new Uint8Array()), BadMagicError);
    assert.throws(
      () => DetachedTimestampFile.fromBytes(fromHex(emptyFile.replace(/0108e3b0/, '0208e3b0'))),
      UnsupportedMajorVersionError,
    );
    assert.throws(
      () => DetachedTimestampFile.fromBytes(fromHex(emptyFile.replace(/0108e3b0/, '01f3e3b0'))),
      /Unknown crypto op tag 0xf3/,
    );
    assert.throws(() => DetachedTimestampFile.fromBytes(fromHex(`${emptyFile}00`)), TrailingGarbageError);
  });
});
