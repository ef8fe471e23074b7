/** HTTP error log lines: bugs every time with a stack, expected errors summarized per code and interval. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HttpErrorLog } from '../../src/http/error-log.js';
import { HttpErrors } from '../../src/http/errors.js';
import { captureLogs } from '../helpers/log-capture.js';

describe('HttpErrorLog', () => {
  it('logs the first expected error at once, then the count of the rest once per interval', (t) => {
    // the test's clock: on the real one a stall of the event loop moved the record below out of the
    // summary's interval
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    const { logger, lines } = captureLogs('debug');
    const counted: string[] = [];
    const log = new HttpErrorLog(logger, { intervalMs: 200, count: (code) => counted.push(code) });
    const request = { method: 'POST', url: '/digest' };
    for (let i = 0; i < 5; i++) log.record(HttpErrors.OVERLOADED, request, new Error('5 waiting'));
    log.record(HttpErrors.URL_TOO_LONG, { method: 'GET', url: `/${'a'.repeat(500)}` });
    assert.deepEqual(
      lines.map((l) => [l.code, l.count, l.level]),
      [
        ['OTSD_OVERLOADED', 1, 40],
        ['OTSD_URL_TOO_LONG', 1, 30],
      ],
    );
    const first = lines[0] ?? {};
    assert.deepEqual(
      [first.method, first.url, first.cause, first.err],
      ['POST', '/digest', '5 waiting', undefined],
    );
    assert.equal(String(lines[1]?.url).length, 200);

    t.mock.timers.tick(300);
    assert.deepEqual(
      lines.slice(2).map((l) => [l.code, l.count, l.msg]),
      [['OTSD_OVERLOADED', 4, 'calendar busy, retry later (4 more since the last line)']],
    );
    // the next one falls in the interval the summary started: counted, logged on flush
    log.record(HttpErrors.OVERLOADED, request);
    assert.equal(lines.length, 3);
    log.flush();
    assert.deepEqual(
      lines.slice(3).map((l) => [l.code, l.count]),
      [['OTSD_OVERLOADED', 1]],
    );
    log.flush();
    assert.equal(lines.length, 4, 'nothing left to flush');
    assert.equal(counted.length, 7);
    assert.deepEqual(new Set(counted), new Set(['OTSD_OVERLOADED', 'OTSD_URL_TOO_LONG']));
  });

  it('logs every unexpected error with its stack', () => {
    const { logger, lines } = captureLogs('debug');
    const log = new HttpErrorLog(logger, { intervalMs: 60_000 });
    for (let i = 0; i < 3; i++)
      log.record(HttpErrors.INTERNAL, { method: 'GET', url: '/' }, new Error(`bug ${i}`));
    assert.equal(lines.length, 3);
    for (const [i, line] of lines.entries()) {
      assert.equal(line.level, 50);
      const err = line.err as { message: string; stack: string };
      assert.equal(err.message, `bug ${i}`);
      assert.match(err.stack, /\n {4}at /);
    }
  });
});
