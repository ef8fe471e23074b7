/**
 * A real NOTIFY_SOCKET for systemd's notify protocol: a unix datagram socket made by the test and read
 * by Python (Node has none), every message kept as one line.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { waitFor } from './wait-for.js';

const RECEIVER = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print('bound', flush=True)
while True:
    print(s.recv(4096).decode().replace('\\n', ' '), flush=True)
`;

/** Why the notify protocol cannot be tested here, or undefined when it can. */
export function notifyUnavailable(): string | undefined {
  return existsSync('/usr/bin/systemd-notify')
    ? undefined
    : 'systemd-notify missing (Debian package systemd)';
}

export interface NotifySocket {
  path: string;
  /** Every message so far, one per line. */
  messages(): string;
}

/** Binds a socket in `dir`, read until the test ends. */
export async function startNotifySocket(t: TestContext, dir: string): Promise<NotifySocket> {
  const path = join(dir, 'notify.sock');
  const receiver = spawn('/usr/bin/python3', ['-c', RECEIVER, path], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => receiver.kill());
  let messages = '';
  receiver.stdout.on('data', (chunk) => {
    messages += chunk;
  });
  await waitFor('the notify socket', () => (messages.includes('bound') ? true : undefined));
  return { path, messages: () => messages };
}
