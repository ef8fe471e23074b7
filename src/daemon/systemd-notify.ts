/**
 * systemd's notify protocol (Type=notify): READY=1 once the node serves, EXTEND_TIMEOUT_USEC while a
 * long start-up (the index catching up) needs more than the start timeout, STOPPING=1 when it stops,
 * WATCHDOG=1 pings at half the watchdog period. Node cannot send on a unix datagram socket, so the
 * messages go through systemd-notify(1); the unit therefore sets NotifyAccess=all.
 * Without NOTIFY_SOCKET (not under systemd) every call does nothing.
 * @module
 */
import { execFile } from 'node:child_process';

export interface Notifier {
  ready(status: string): void;
  /** The one line `systemctl status` shows, after READY. */
  status(status: string): void;
  /** Before READY: asks systemd to wait `seconds` more from now before giving up on the start. */
  extendStartTimeout(seconds: number, status: string): void;
  stopping(): void;
  /** Starts the watchdog pings, when systemd asked for them (WATCHDOG_USEC). */
  startWatchdog(): void;
  stopWatchdog(): void;
}

export function systemdNotifier(
  env: NodeJS.ProcessEnv = process.env,
  onError: (e: Error) => void = () => {},
): Notifier {
  const socket = env.NOTIFY_SOCKET;
  let watchdog: NodeJS.Timeout | undefined;
  const send = (...assignments: string[]) => {
    if (!socket) return;
    execFile(
      'systemd-notify',
      [`--pid=${process.pid}`, ...assignments],
      { env: { ...env, NOTIFY_SOCKET: socket }, timeout: 5000 },
      (e) => {
        if (e) onError(e);
      },
    );
  };
  return {
    ready: (status) => send('READY=1', `STATUS=${status}`),
    status: (status) => send(`STATUS=${status}`),
    extendStartTimeout: (seconds, status) =>
      send(`EXTEND_TIMEOUT_USEC=${Math.round(seconds * 1e6)}`, `STATUS=${status}`),
    stopping: () => send('STOPPING=1', 'STATUS=stopping'),
    startWatchdog: () => {
      const usec = Number(env.WATCHDOG_USEC);
      if (!socket || !(usec > 0)) return;
      watchdog = setInterval(() => send('WATCHDOG=1'), usec / 2000);
      watchdog.unref();
    },
    stopWatchdog: () => clearInterval(watchdog),
  };
}
