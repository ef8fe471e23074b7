/** The calendar's key: created once with mode 0600, addressed per network. */
import assert from 'node:assert/strict';
import fs, { readFileSync, statSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { NETWORKS } from '../../src/bitcoin/network.js';
import { KEY_FILE, loadWalletKey, toWif, walletKeyFromPrivate } from '../../src/bitcoin/wallet-key.js';
import { toHex } from '../../src/ots/index.js';
import { runCli } from '../cli/run-cli.js';
import { memoryLog, tempDir } from '../helpers/temp-dir.js';

describe('wallet key', () => {
  it('is created with mode 0600, fsynced with its directory, and loads the same next time', (t) => {
    const dir = tempDir(t);
    // observe the fsyncs (they still happen): which kind of file each one was for
    const fsync = fs.fsyncSync;
    const synced: string[] = [];
    t.mock.method(fs, 'fsyncSync', (fd: number) => {
      synced.push(fs.fstatSync(fd).isDirectory() ? 'directory' : 'file');
      fsync(fd);
    });
    syncBuiltinESMExports();
    t.after(() => syncBuiltinESMExports());
    const created = loadWalletKey(dir, NETWORKS.main, true);
    assert.deepEqual(synced, ['file', 'directory']);
    assert.equal(statSync(join(dir, KEY_FILE)).mode & 0o777, 0o600);
    assert.equal(readFileSync(join(dir, KEY_FILE), 'utf8'), `${toHex(created.privateKey)}\n`);
    assert.equal(toHex(loadWalletKey(dir, NETWORKS.main, false).privateKey), toHex(created.privateKey));
    assert.throws(() => loadWalletKey(tempDir(t), NETWORKS.main, false), /no Bitcoin key/);
  });

  it('tightens a key file readable by others, and refuses a malformed one', (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, KEY_FILE), `${'11'.repeat(32)}\n`, { mode: 0o644 });
    const log = memoryLog();
    loadWalletKey(dir, NETWORKS.main, false, log);
    assert.equal(statSync(join(dir, KEY_FILE)).mode & 0o777, 0o600);
    assert.deepEqual(log.lines, [
      {
        level: 'warn',
        obj: { path: join(dir, KEY_FILE), mode: '644' },
        msg: 'bitcoin: the key file was readable by others; it is 0600 now',
      },
    ]);
    loadWalletKey(dir, NETWORKS.main, false, log);
    assert.equal(log.lines.length, 1);
    writeFileSync(join(dir, KEY_FILE), 'not a key\n');
    assert.throws(() => loadWalletKey(dir, NETWORKS.main, false), /expected 64 hex digits/);
  });

  it('has the address prefix of each network', () => {
    const key = new Uint8Array(32).fill(1);
    const prefixes = {
      main: 'bc1q',
      test: 'tb1q',
      signet: 'tb1q',
      regtest: 'bcrt1q',
      'bcoin-regtest': 'rb1q',
      'litecoin-regtest': 'rltc1q',
    } as const;
    for (const [name, prefix] of Object.entries(prefixes)) {
      const network = NETWORKS[name as keyof typeof NETWORKS];
      assert.ok(walletKeyFromPrivate(key, network).address.startsWith(prefix), name);
    }
    // the well-known key 1...1 on mainnet
    assert.equal(
      walletKeyFromPrivate(key, NETWORKS.main).address,
      'bc1q0xcqpzrky6eff2g52qdye53xkk9jxkvrh6yhyw',
    );
    assert.equal(
      toWif(walletKeyFromPrivate(key, NETWORKS.main), NETWORKS.main),
      'KwFfNUhSDaASSAwtG7ssQM1uVX8RgX5GHWnnLfhfiQDigjioWXHH',
    );
  });

  it('otsd wallet address prints it, and fails with one line without a key', (t) => {
    const dir = tempDir(t);
    const key = loadWalletKey(dir, NETWORKS.regtest, true);
    const result = runCli(['wallet', 'address', '--data-dir', dir, '--bitcoin-network', 'regtest']);
    assert.equal(result.status, 0);
    assert.equal(result.stdout, `${key.address}\n`);
    const missing = runCli(['wallet', 'address', '--data-dir', tempDir(t)]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /^otsd: no Bitcoin key at .*bitcoin-key \(otsd run creates one\)\n$/);
  });
});
