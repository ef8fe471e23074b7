/** The configuration file: checked with one line per problem; flags and OTSD_* variables override it. */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { RUN_SETTINGS } from '../../src/cli/run-options.js';
import { startCalendarProcess } from '../helpers/calendar-process.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';
import { runCli } from './run-cli.js';

const EXAMPLE = fileURLToPath(new URL('../../../deploy/otsd.example.toml', import.meta.url));

describe('configuration file', () => {
  it('the example documents valid keys only', () => {
    const result = runCli(['config', 'check', EXAMPLE]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^config .*otsd\.example\.toml ok: \d+ settings\n$/);
  });

  it('the example names every setting, in its section (set, or commented out)', () => {
    const named = new Set<string>();
    let section = '';
    for (const line of readFileSync(EXAMPLE, 'utf8').split('\n')) {
      const header = /^\[([a-z_]+)\]$/.exec(line);
      if (header) section = `${header[1]}.`;
      const key = /^(?:# )?([a-z_]+) = /.exec(line);
      if (key) named.add(`${section}${key[1]}`);
    }
    assert.deepEqual([...named].sort(), RUN_SETTINGS.map((s) => s.key).sort());
  });

  it('names every problem, with key, value and what was expected', (t) => {
    const path = join(tempDir(t), 'bad.toml');
    writeFileSync(path, 'listen = "nope"\nround_interval_ms = 0\n[bitcoin]\nnetwork = "moon"\nextra = 1\n');
    const result = runCli(['config', 'check', path]);
    assert.equal(result.status, 1);
    assert.equal(
      result.stderr,
      `otsd: config ${path}:\n  listen: expected HOST:PORT, e.g. 127.0.0.1:14788, got "nope"\n  round_interval_ms: expected a positive integer, got 0\n` +
        '  bitcoin.network: expected one of main, test, signet, regtest, bcoin-regtest, litecoin-regtest, got "moon"\n' +
        '  bitcoin.extra: unknown key\n',
    );
    const syntax = join(tempDir(t), 'syntax.toml');
    writeFileSync(syntax, 'listen = \n');
    assert.match(runCli(['config', 'check', syntax]).stderr, /^otsd: config .*syntax\.toml: /);
  });

  it('reads each key as its flag reads it, refusing what the flag refuses in the same words', (t) => {
    const path = join(tempDir(t), 'kinds.toml');
    writeFileSync(
      path,
      'max_connections = "100"\naggregate = "yes"\nmetrics_listen = "127.0.0.1:70000"\nlog_level = "loud"\n' +
        '[external]\nwait_blocks = 1.5\nmax_tx_bytes = 999999999\n',
    );
    const result = runCli(['config', 'check', path]);
    assert.equal(result.status, 1);
    assert.deepEqual(result.stderr.split('\n').slice(1, -1), [
      '  max_connections: expected a positive integer, got "100"',
      '  aggregate: expected true or false, got "yes"',
      '  metrics_listen: expected HOST:PORT, e.g. 127.0.0.1:14788, got "127.0.0.1:70000"',
      '  log_level: expected one of fatal, error, warn, info, debug, trace, silent, got "loud"',
      '  external.wait_blocks: expected a non-negative integer, got 1.5',
      '  external.max_tx_bytes: expected a positive integer up to 100000, got 999999999',
    ]);
    const flags = runCli(['config', 'show', '--external-max-tx-bytes', '999999999']);
    assert.equal(flags.status, 1);
    assert.match(flags.stderr, /expected a positive integer up to 100000/);
  });

  it('flags override variables, which override the file; secrets are masked', (t) => {
    const path = join(tempDir(t), 'otsd.toml');
    writeFileSync(
      path,
      'listen = "127.0.0.1:1111"\nround_interval_ms = 250\n[bitcoin]\nrpc = "http://u:hunter2@127.0.0.1:8332"\n',
    );
    const shown = runCli(['config', 'show', '--config', path, '--round-interval', '500']);
    assert.equal(shown.status, 0, shown.stderr);
    assert.match(shown.stdout, /^listen = "127\.0\.0\.1:1111"$/m);
    assert.match(shown.stdout, /^round_interval_ms = 500$/m);
    assert.match(shown.stdout, /^bitcoin\.rpc = "http:\/\/u:\*\*\*\*@127\.0\.0\.1:8332\/"$/m);
    assert.doesNotMatch(shown.stdout, /hunter2/);
  });

  it('an aggregator takes its upstreams from repeated flags, a list in OTSD_UPSTREAM, or the file', (t) => {
    const path = join(tempDir(t), 'aggregator.toml');
    writeFileSync(
      path,
      'role = "aggregator"\nupstream = ["http://127.0.0.1:1", "http://127.0.0.1:2"]\nupstream_timeout_ms = 800\n',
    );
    assert.equal(runCli(['config', 'check', path]).status, 0);
    const fromFile = runCli(['config', 'show', '--config', path]);
    assert.match(fromFile.stdout, /^upstream = \["http:\/\/127\.0\.0\.1:1","http:\/\/127\.0\.0\.1:2"\]$/m);
    assert.match(fromFile.stdout, /^upstream_timeout_ms = 800$/m);
    const fromFlags = runCli(['config', 'show', '--upstream', 'http://a', '--upstream', 'http://b']);
    assert.match(fromFlags.stdout, /^upstream = \["http:\/\/a","http:\/\/b"\]$/m);
    const fromEnv = runCli(['config', 'show'], { OTSD_UPSTREAM: 'http://a, http://b' });
    assert.match(fromEnv.stdout, /^upstream = \["http:\/\/a","http:\/\/b"\]$/m);
  });

  it('a calendar takes its masters as the upstreams are taken: flags, OTSD_MASTER, or bitcoin.master', (t) => {
    const path = join(tempDir(t), 'slave.toml');
    writeFileSync(
      path,
      '[bitcoin]\nmaster = ["http://127.0.0.1:1", "http://127.0.0.1:2"]\nmaster_timeout_blocks = 12\n',
    );
    assert.equal(runCli(['config', 'check', path]).status, 0);
    const fromFile = runCli(['config', 'show', '--config', path]);
    assert.match(
      fromFile.stdout,
      /^bitcoin\.master = \["http:\/\/127\.0\.0\.1:1","http:\/\/127\.0\.0\.1:2"\]$/m,
    );
    assert.match(fromFile.stdout, /^bitcoin\.master_timeout_blocks = 12$/m);
    assert.match(fromFile.stdout, /^bitcoin\.master_request_timeout_ms = 10000$/m);
    assert.match(fromFile.stdout, /^bitcoin\.master_poll_interval_ms = 60000$/m);
    const fromFlags = runCli(['config', 'show', '--master', 'http://a', '--master', 'http://b']);
    assert.match(fromFlags.stdout, /^bitcoin\.master = \["http:\/\/a","http:\/\/b"\]$/m);
    const fromEnv = runCli(['config', 'show'], {
      OTSD_MASTER: 'http://a,http://b',
      OTSD_MASTER_TIMEOUT_BLOCKS: '9',
    });
    assert.match(fromEnv.stdout, /^bitcoin\.master = \["http:\/\/a","http:\/\/b"\]$/m);
    assert.match(fromEnv.stdout, /^bitcoin\.master_timeout_blocks = 9$/m);
  });

  it('checks master and upstream URLs in the file as otsd run does', (t) => {
    const path = join(tempDir(t), 'urls.toml');
    writeFileSync(
      path,
      'upstream = "http://"\n[bitcoin]\nmaster = ["http://127.0.0.1:1", "ftp://a.example"]\n',
    );
    const result = runCli(['config', 'check', path]);
    assert.equal(result.status, 1);
    assert.equal(
      result.stderr,
      `otsd: config ${path}:\n  upstream: expected an http(s) URL or a list of them, got "http://"\n` +
        '  bitcoin.master: expected an http(s) URL or a list of them, got ["http://127.0.0.1:1","ftp://a.example"]\n',
    );
  });

  it('takes the trusted proxies as IP addresses or CIDR ranges, from the file, OTSD_TRUST_PROXY or flags', (t) => {
    const path = join(tempDir(t), 'proxy.toml');
    writeFileSync(path, 'trust_proxy = ["127.0.0.1", "10.0.0.0/8", "fd00::/8"]\n');
    assert.equal(runCli(['config', 'check', path]).status, 0);
    assert.match(
      runCli(['config', 'show', '--config', path]).stdout,
      /^trust_proxy = \["127\.0\.0\.1","10\.0\.0\.0\/8","fd00::\/8"\]$/m,
    );
    const fromEnv = runCli(['config', 'show'], { OTSD_TRUST_PROXY: '127.0.0.1, ::1' });
    assert.match(fromEnv.stdout, /^trust_proxy = \["127\.0\.0\.1","::1"\]$/m);
    const bad = join(tempDir(t), 'bad-proxy.toml');
    writeFileSync(bad, 'trust_proxy = ["127.0.0.1", "10.0.0.0/33"]\n');
    assert.equal(
      runCli(['config', 'check', bad]).stderr,
      `otsd: config ${bad}:\n  trust_proxy: expected an IP address or CIDR range, or a list of them, got ["127.0.0.1","10.0.0.0/33"]\n`,
    );
    const flag = runCli(['config', 'show', '--trust-proxy', 'localhost']);
    assert.equal(flag.status, 1);
    assert.match(flag.stderr, /"localhost" is not an IP address or CIDR range/);
  });

  it('refuses roles and upstreams that do not fit, in one line', () => {
    const cases: [string[], string][] = [
      [['--role', 'aggregator'], '--role aggregator needs --upstream URL'],
      [
        ['--role', 'mirror', '--upstream', 'http://a', '--upstream', 'http://b'],
        'a mirror follows one calendar',
      ],
      [['--upstream', 'http://a'], '--upstream is for --role mirror or aggregator'],
      [['--aggregate'], '--aggregate is for --role mirror'],
      [
        ['--role', 'aggregator', '--upstream', 'calendar.example.org'],
        'upstream "calendar.example.org" is not an http(s) URL',
      ],
      [['--master', 'http://a'], '--master needs --bitcoin-rpc or --embedded-regtest'],
      [['--external'], '--external needs --bitcoin-rpc or --embedded-regtest'],
      [['--role', 'mirror', '--upstream', 'http://a', '--external'], '--external is for --role calendar'],
      [
        ['--role', 'mirror', '--upstream', 'http://a', '--master', 'http://b'],
        '--master is for --role calendar',
      ],
      [
        ['--bitcoin-rpc', 'http://u:p@127.0.0.1:1', '--master', 'calendar.example.org'],
        'master "calendar.example.org" is not an http(s) URL',
      ],
    ];
    for (const [args, message] of cases) {
      const result = runCli(['run', ...args]);
      assert.equal(result.status, 1, args.join(' '));
      assert.match(result.stderr, /^otsd: /);
      assert.ok(result.stderr.includes(message), result.stderr);
    }
  });

  it('otsd run takes its settings from the file', async (t) => {
    const dir = tempDir(t);
    const path = join(dir, 'otsd.toml');
    writeFileSync(path, `round_interval_ms = 123\n[prefix]\nmin_nibbles = 5\n`);
    const calendar = await startCalendarProcess(join(dir, 'data'), ['--config', path]);
    t.after(() => calendar.stop());
    const status = (await (
      await fetch(calendar.url, { headers: { accept: 'application/json' } })
    ).json()) as {
      round_interval_ms: number;
      prefix_queries: { min_nibbles: number };
    };
    assert.equal(status.round_interval_ms, 123);
    assert.equal(status.prefix_queries.min_nibbles, 5);
  });
});

describe('SIGHUP', () => {
  it('reloads the log level and digest limits from the file without a restart', async (t) => {
    const dir = tempDir(t);
    const path = join(dir, 'otsd.toml');
    writeFileSync(path, 'log_level = "warn"\n');
    const calendar = await startCalendarProcess(join(dir, 'data'), ['--config', path]);
    t.after(() => calendar.stop());
    await fetch(`${calendar.url}/tip`);
    assert.doesNotMatch(calendar.output(), /"msg":"request"/);
    writeFileSync(path, 'log_level = "debug"\n');
    calendar.child.kill('SIGHUP');
    await waitFor('the reload', () =>
      calendar.output().includes('configuration reloaded') ? true : undefined,
    );
    await fetch(`${calendar.url}/tip`);
    await waitFor('a debug request line', () =>
      /"url":"\/tip","status":404.*"msg":"request"/.test(calendar.output()) ? true : undefined,
    );
    // digest limits too: one digest may wait, so of three posted together at least one gets 503
    writeFileSync(path, 'log_level = "debug"\nmax_waiting_digests = 1\n');
    calendar.child.kill('SIGHUP');
    await waitFor('the second reload', () =>
      (calendar.output().match(/configuration reloaded/g) ?? []).length >= 2 ? true : undefined,
    );
    const statuses = await Promise.all(
      [1, 2, 3].map(
        async (i) =>
          (await fetch(`${calendar.url}/digest`, { method: 'POST', body: new Uint8Array([i]) })).status,
      ),
    );
    assert.ok(statuses.includes(503), JSON.stringify(statuses));
    writeFileSync(path, 'log_level = "loud"\n');
    calendar.child.kill('SIGHUP');
    await waitFor('the refusal', () =>
      calendar.output().includes('configuration not reloaded') ? true : undefined,
    );
    assert.equal(await calendar.stop('SIGTERM'), 0);
  });
});
