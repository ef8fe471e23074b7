/**
 * The systemd notify protocol, with a real NOTIFY_SOCKET made by the test (a unix datagram socket,
 * read by Python since Node has none): READY=1 once serving, WATCHDOG=1 pings, STOPPING=1 on SIGTERM.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startCalendarProcess } from '../helpers/calendar-process.js';
import { requireTools } from '../helpers/require-tools.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';

const RECEIVER = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print('bound', flush=True)
while True:
    print(s.recv(4096).decode().replace('\\n', ' '), flush=True)
`;

describe('deploy/otsd.service', () => {
  it('passes systemd-analyze verify without a warning, and keeps the settings otsd relies on', (t) => {
    if (
      !requireTools(
        t,
        existsSync('/usr/bin/systemd-analyze')
          ? undefined
          : 'systemd-analyze missing (Debian package systemd)',
      )
    )
      return;
    const unit = fileURLToPath(new URL('../../../deploy/otsd.service', import.meta.url));
    const result = spawnSync('/usr/bin/systemd-analyze', ['verify', unit], { encoding: 'utf8' });
    assert.equal(result.status, 0);
    assert.equal(`${result.stdout}${result.stderr}`.trim(), '');
    const text = readFileSync(unit, 'utf8');
    for (const line of [
      'Type=notify',
      'NotifyAccess=all',
      'WatchdogSec=',
      'Restart=on-failure',
      'StateDirectory=otsd',
      'User=otsd',
    ]) {
      assert.ok(text.includes(line), line);
    }
    assert.doesNotMatch(text, /^MemoryDenyWriteExecute/m, 'V8 needs writable executable memory');
  });
});

const ROLES: { role: string; args: string[]; ready: RegExp }[] = [
  {
    role: 'a calendar',
    args: [],
    ready: /READY=1 STATUS=serving http:\/\/127\.0\.0\.1:\d+, 0 journal records/,
  },
  {
    role: 'an aggregator',
    args: ['--role', 'aggregator', '--upstream', 'http://127.0.0.1:9'],
    ready: /READY=1 STATUS=aggregating on http:\/\/127\.0\.0\.1:\d+ for 1 calendar\(s\)/,
  },
];

describe('systemd notify', () => {
  for (const { role, args, ready } of ROLES)
    it(`${role} says READY=1 when serving, pings the watchdog, and STOPPING=1 on SIGTERM`, async (t) => {
      if (
        !requireTools(
          t,
          existsSync('/usr/bin/systemd-notify')
            ? undefined
            : 'systemd-notify missing (Debian package systemd)',
        )
      )
        return;
      const dir = tempDir(t);
      const socketPath = join(dir, 'notify.sock');
      const receiver = spawn('/usr/bin/python3', ['-c', RECEIVER, socketPath], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      t.after(() => receiver.kill());
      let messages = '';
      receiver.stdout.on('data', (chunk) => {
        messages += chunk;
      });
      await waitFor('the socket', () => (messages.includes('bound') ? true : undefined));

      process.env.NOTIFY_SOCKET = socketPath;
      process.env.WATCHDOG_USEC = '400000';
      let calendar: Awaited<ReturnType<typeof startCalendarProcess>>;
      try {
        calendar = await startCalendarProcess(join(dir, 'data'), args);
      } finally {
        delete process.env.NOTIFY_SOCKET;
        delete process.env.WATCHDOG_USEC;
      }
      t.after(() => calendar.stop());
      await waitFor('READY=1', () => (ready.test(messages) ? true : undefined));
      await waitFor('watchdog pings', () =>
        (messages.match(/WATCHDOG=1/g) ?? []).length >= 2 ? true : undefined,
      );
      assert.equal(await calendar.stop('SIGTERM'), 0);
      await waitFor('STOPPING=1', () => (messages.includes('STOPPING=1') ? true : undefined));
      assert.match(messages, new RegExp(`MAINPID=${calendar.child.pid}`));
    });
});
