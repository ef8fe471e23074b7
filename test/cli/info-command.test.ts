import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { VECTORS_DIR } from '../ots/vectors.js';
import { runCli } from './run-cli.js';

describe('otsd info', () => {
  it('prints the tree as `ots info` does', () => {
    const { status, stdout } = runCli(['info', join(VECTORS_DIR, 'two-calendars.txt.ots')]);
    assert.equal(status, 0);
    assert.equal(
      stdout,
      `File sha256 hash: efaa174f68e59705757460f4f7d204bd2b535cfd194d9d945418732129404ddb
Timestamp:
append 839037eef449dec6dac322ca97347c45
sha256
 -> append 6b4023b6edd3a0eeeb09e5d718723b9e
    sha256
    prepend 57d46515
    append eadd66b1688d5574
    verify PendingAttestation('https://alice.btc.calendar.opentimestamps.org')
 -> append a3ad701ef9f10535a84968b5a99d8580
    sha256
    prepend 57d46516
    append 647b90ea1b270a97
    verify PendingAttestation('https://bob.btc.calendar.opentimestamps.org')

`,
    );
  });

  it('labels the Bitcoin transaction and merkle root of a complete proof', () => {
    const { status, stdout } = runCli(['info', join(VECTORS_DIR, 'hello-world.txt.ots')]);
    assert.equal(status, 0);
    assert.match(
      stdout,
      /# Transaction id 7e9f0f7d9daa2d9e51b2e22f4abe814c3f90539afa778a9bef88dc64627cb2ec\n/,
    );
    assert.match(
      stdout,
      /verify BitcoinBlockHeaderAttestation\(358391\)\n# Bitcoin block merkle root 8a1b66ecb7cbd07d8139a7e7d7f2c41aab1f5009b8364aaf61d03ad245e47e00\n/,
    );
  });

  it('fails with one line on a missing file, a non-timestamp file, a corrupt proof', () => {
    const dir = mkdtempSync(join(tmpdir(), 'otsd-info-'));
    writeFileSync(join(dir, 'junk.ots'), 'hello');
    const corrupt = join(dir, 'corrupt.ots');
    writeFileSync(
      corrupt,
      Buffer.from('004f70656e54696d657374616d7073000050726f6f6600bf89e2e884e892940108', 'hex'),
    );
    for (const [file, reason] of [
      [join(dir, 'missing.ots'), /^otsd: cannot read .*missing\.ots: ENOENT\n$/],
      [join(dir, 'junk.ots'), /^otsd: .*junk\.ots is not a timestamp file\n$/],
      [
        corrupt,
        /^otsd: invalid timestamp file .*corrupt\.ots: TruncationError: Tried to read 32 bytes but only 0 remain \(at byte 33\)\n$/,
      ],
    ] as const) {
      const { status, stdout, stderr } = runCli(['info', file]);
      assert.equal(status, 1);
      assert.equal(stdout, '');
      assert.match(stderr, reason);
    }
  });

  it('fails on usage errors', () => {
    const { status, stderr } = runCli(['info']);
    assert.equal(status, 1);
    assert.match(stderr, /missing required argument 'file'/);
  });
});
