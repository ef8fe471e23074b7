/**
 * The listen backlog: otsd asks the kernel for a queue of `listen_backlog` connections (Node's default,
 * 511, overflowed in an end-of-round burst), as `ss` shows for a listening socket (its Send-Q).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { DEFAULT_HTTP_LIMITS } from '../../src/http/app.js';
import { startCalendarProcess } from '../helpers/calendar-process.js';
import { tempDir } from '../helpers/temp-dir.js';

/** The backlog of the socket listening at `url`, as the kernel reports it. */
function backlogOf(url: string): number {
  const port = new URL(url).port;
  const line = execFileSync('ss', ['-ltnH', `sport = :${port}`], { encoding: 'utf8' }).trim();
  const sendQ = line.split(/\s+/)[2];
  assert.ok(sendQ, `ss shows the listener on :${port}: ${line}`);
  return Number(sendQ);
}

const SOMAXCONN = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));

describe('listen backlog', () => {
  it('is 4096 by default (as far as somaxconn allows), and --listen-backlog sets it', async (t) => {
    const byDefault = await startCalendarProcess(tempDir(t), ['--log-level', 'warn']);
    t.after(() => byDefault.stop());
    assert.equal(backlogOf(byDefault.url), Math.min(DEFAULT_HTTP_LIMITS.listenBacklog, SOMAXCONN));
    const set = await startCalendarProcess(tempDir(t), ['--log-level', 'warn', '--listen-backlog', '100']);
    t.after(() => set.stop());
    assert.equal(backlogOf(set.url), 100);
  });
});
