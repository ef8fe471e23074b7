import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startCalendarProcess } from '../helpers/calendar-process.js';
import { tempDir } from '../helpers/temp-dir.js';
import { runCli } from './run-cli.js';

describe('otsd init', () => {
  it('creates journal, index, key (0600) and a config that otsd run takes', async (t) => {
    const dir = join(tempDir(t), 'calendar');
    const result = runCli([
      'init',
      dir,
      '--uri',
      'https://calendar.example.org',
      '--bitcoin-network',
      'regtest',
    ]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /fund the calendar at bcrt1q[0-9a-z]+\n/);
    assert.deepEqual(readdirSync(dir).sort(), ['bitcoin-key', 'index', 'journal', 'otsd.toml']);
    assert.equal(statSync(join(dir, 'bitcoin-key')).mode & 0o777, 0o600);
    assert.equal(runCli(['config', 'check', join(dir, 'otsd.toml')]).status, 0);
    const shown = runCli(['config', 'show', '--config', join(dir, 'otsd.toml')]);
    assert.match(shown.stdout, /^uri = "https:\/\/calendar\.example\.org"$/m);
    assert.match(shown.stdout, /^bitcoin\.network = "regtest"$/m);
    // (the test helper passes its own --uri, which a flag may: flags override the file)
    const calendar = await startCalendarProcess(dir, ['--config', join(dir, 'otsd.toml')]);
    t.after(() => calendar.stop());
    assert.equal((await fetch(`${calendar.url}/tip`)).status, 404);
  });

  it('refuses a directory that is not empty, and a bad URI', (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'something'), 'x');
    const taken = runCli(['init', dir, '--uri', 'https://x.org']);
    assert.equal(taken.status, 1);
    assert.match(taken.stderr, /exists and is not empty; not touching it/);
    const bad = runCli(['init', join(dir, 'new'), '--uri', 'https://x.org/?q=1']);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /--uri: URI contains invalid character/);
    assert.equal(existsSync(join(dir, 'new')), false);
  });
});
