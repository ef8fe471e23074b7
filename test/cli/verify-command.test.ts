import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fromHex, reverseBytes, toHex } from 'otsd/ots';
import { headerWithRoot, VECTORS_DIR } from '../ots/vectors.js';
import { runCli } from './run-cli.js';

const HELLO_ROOT = reverseBytes(fromHex('8a1b66ecb7cbd07d8139a7e7d7f2c41aab1f5009b8364aaf61d03ad245e47e00'));
// nTime of block 358391: 2015-05-28
const HELLO_HEADER = toHex(headerWithRoot(HELLO_ROOT, 1432827678));
const OTHER_HEADER = toHex(headerWithRoot(new Uint8Array(32).fill(7), 1432827678));

describe('otsd verify', () => {
  it('succeeds when a given header has the merkle root the proof reaches, and checks the file', () => {
    const { status, stdout } = runCli([
      'verify',
      join(VECTORS_DIR, 'hello-world.txt.ots'),
      '--header',
      HELLO_HEADER,
    ]);
    assert.equal(status, 0);
    assert.match(stdout, /File .*hello-world\.txt matches the timestamp's sha256 digest\n/);
    assert.match(stdout, /Success! Bitcoin block 358391 attests existence as of 2015-05-28 UTC\n$/);
  });

  it('accepts several headers and a digest instead of the file', () => {
    const { status, stdout } = runCli([
      'verify',
      join(VECTORS_DIR, 'hello-world.txt.ots'),
      '--header',
      OTHER_HEADER,
      HELLO_HEADER,
      '--digest',
      '03ba204e50d126e4674c005e04d82e84c21366780af1f43bd54a37816b6ab340',
    ]);
    assert.equal(status, 0, stdout);
    assert.match(stdout, /Success!/);
  });

  it('fails when no header matches (bad-stamp.txt.ots against the real root)', () => {
    const { status, stdout } = runCli([
      'verify',
      join(VECTORS_DIR, 'bad-stamp.txt.ots'),
      '--header',
      HELLO_HEADER,
    ]);
    assert.equal(status, 1);
    assert.match(stdout, /Failed! Digest does not match merkleroot/);
  });

  it('fails when the file or digest does not match the proof', () => {
    const dir = mkdtempSync(join(tmpdir(), 'otsd-verify-'));
    copyFileSync(join(VECTORS_DIR, 'hello-world.txt.ots'), join(dir, 'hello-world.txt.ots'));
    writeFileSync(join(dir, 'hello-world.txt'), 'Hello World?\n');
    const file = runCli(['verify', join(dir, 'hello-world.txt.ots'), '--header', HELLO_HEADER]);
    assert.equal(file.status, 1);
    assert.match(file.stdout, /does not match original!/);
    const digest = runCli([
      'verify',
      join(dir, 'hello-world.txt.ots'),
      '--header',
      HELLO_HEADER,
      '--digest',
      '00',
    ]);
    assert.equal(digest.status, 1);
    assert.match(digest.stdout, /Digest provided does not match/);
  });

  it('fails on a pending-only proof', () => {
    const { status, stdout } = runCli([
      'verify',
      join(VECTORS_DIR, 'incomplete.txt.ots'),
      '--header',
      HELLO_HEADER,
    ]);
    assert.equal(status, 1);
    assert.match(stdout, /no Bitcoin attestation/);
  });

  it('refuses a malformed header or a missing --header with one line', () => {
    const bad = runCli(['verify', join(VECTORS_DIR, 'hello-world.txt.ots'), '--header', 'abcd']);
    assert.equal(bad.status, 1);
    assert.equal(bad.stderr, 'otsd: --header must be 160 hex digits (an 80-byte block header)\n');
    const missing = runCli(['verify', join(VECTORS_DIR, 'hello-world.txt.ots')]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /required option '--header <hex...>' not specified/);
  });
});
