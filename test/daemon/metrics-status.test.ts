/** Prometheus metrics on their own listener, and `otsd status`, against a running otsd. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCliAsync } from '../cli/run-cli.js';
import { startCalendarProcess } from '../helpers/calendar-process.js';
import { freePort } from '../helpers/free-port.js';
import { tempDir } from '../helpers/temp-dir.js';

describe('metrics and status', () => {
  it('serves Prometheus metrics on the metrics listener only, and otsd status summarizes the node', async (t) => {
    const metricsPort = await freePort();
    const calendar = await startCalendarProcess(tempDir(t), [
      '--round-interval',
      '10',
      '--metrics-listen',
      `127.0.0.1:${metricsPort}`,
    ]);
    t.after(() => calendar.stop());
    for (let i = 0; i < 5; i++)
      await fetch(`${calendar.url}/digest`, { method: 'POST', body: new Uint8Array(32).fill(i) });
    await fetch(`${calendar.url}/timestamp/00`);

    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    assert.match(metrics, /^otsd_digests_total 5$/m);
    assert.match(metrics, /^otsd_rounds_total [1-5]$/m);
    assert.match(metrics, /^otsd_journal_records [1-5]$/m);
    assert.match(metrics, /^otsd_pending_commitments [1-5]$/m);
    assert.match(metrics, /^otsd_index_lag_records 0$/m);
    assert.match(
      metrics,
      /^otsd_http_request_duration_seconds_count\{route="\/digest",method="POST",status="200"\} 5$/m,
    );
    assert.match(
      metrics,
      /^otsd_http_request_duration_seconds_count\{route="\/timestamp\/:hex",method="GET",status="404"\} 1$/m,
    );
    assert.match(metrics, /^otsd_process_resident_memory_bytes \d+/m);
    assert.equal((await fetch(`${calendar.url}/metrics`)).status, 404, 'not on the public listener');

    const status = await runCliAsync(['status', '--url', calendar.url]);
    assert.equal(status.status, 0, status.stderr);
    assert.match(status.stdout, /^otsd \d+\.\d+\.\d+ {2}http:\/\/127\.0\.0\.1:\d+ {2}up \d+ s\n/);
    assert.match(status.stdout, /^commitments {2}[1-5] pending of [1-5], 0 digests waiting$/m);
    // started with no Bitcoin node: said in the log at start, on the status page, and by otsd status
    assert.match(calendar.output(), /no Bitcoin node \(neither --bitcoin-rpc nor --embedded-regtest\)/);
    assert.match(
      status.stdout,
      /^WARNING {6}no Bitcoin node .*nothing this calendar accepts will be anchored/m,
    );
    const page = await (await fetch(`${calendar.url}/status`)).text();
    assert.match(page, /<p class="warning"><strong>Warning:<\/strong> no Bitcoin node/);
    // and on the page at /, whose verification says it cannot verify here
    const front = await (await fetch(calendar.url)).text();
    assert.match(front, /<p class="warning"><strong>Warning:<\/strong> no Bitcoin node/);
    assert.match(front, /This server has no Bitcoin node to take block headers from/);
    const json = (await (await fetch(calendar.url, { headers: { accept: 'application/json' } })).json()) as {
      warnings: string[];
    };
    assert.equal(json.warnings.length, 1);

    const down = await runCliAsync(['status', '--url', 'http://127.0.0.1:1']);
    assert.equal(down.status, 1);
    assert.match(down.stderr, /^otsd: cannot reach http:\/\/127\.0\.0\.1:1: /);
  });
});
