/**
 * Floods, with otsd's resident memory sampled during and after: connections that pipeline thousands of
 * digests each (a flood of 250,000 took 1.2 GB), and many keep-alive connections posting one at a
 * time. Memory stays under the ceiling docs/operating.md gives for the caps set; otsd answers a probe
 * at once afterwards, and every digest it acknowledged is kept.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_HTTP_LIMITS } from '../../src/http/app.js';
import { startCalendarProcess } from '../helpers/calendar-process.js';
import { tempDir } from '../helpers/temp-dir.js';
import { lostOverHttp } from './check.js';
import { pipelineDigests } from './load.js';
import { sampleRss } from './rss.js';
import { scale } from './soak.js';
import { reportFault } from './table.js';

/**
 * The ceiling docs/operating.md gives, in MiB, from the settings alone: 100 MB at rest (200 allowed,
 * for the garbage collector's slack), 6 KB per request in flight (up to twice the cap, counting those
 * read past their connection's cap), 40 KB per connection allowed, and 5 MB for the last read.
 */
function ceilingMiB(caps: { maxInFlight: number; maxConnections: number }): number {
  return Math.round(200 + (caps.maxInFlight * 12) / 1024 + (caps.maxConnections * 40) / 1024 + 5);
}

interface Flood {
  name: string;
  roundMs: number;
  maxInFlight: number;
  maxConnections: number;
  connections: number;
  /** Requests each connection writes at once (1: one at a time, in a closed loop). */
  pipeline: number;
  /** How long the clients send (a pipelined flood sends one batch). */
  seconds: number;
}

const FLOODS: Flood[] = scale(
  [
    {
      name: 'pipelined flood, 40 connections x 5,000',
      roundMs: 500,
      maxInFlight: 2000,
      maxConnections: 1000,
      connections: 40,
      pipeline: 5000,
      seconds: 0,
    },
    {
      // past the connection cap requests read past their connection's cap once took 5 MB a connection
      name: 'pipelined flood spread, 250 connections x 700',
      roundMs: 500,
      maxInFlight: 2000,
      maxConnections: 1000,
      connections: 250,
      pipeline: 700,
      seconds: 0,
    },
    {
      name: 'connections flood, 1,000 keep-alive, 5 s',
      roundMs: 1000,
      maxInFlight: DEFAULT_HTTP_LIMITS.maxRequestsInFlight,
      maxConnections: 2000,
      connections: 1000,
      pipeline: 1,
      seconds: 5,
    },
  ],
  [
    {
      name: 'pipelined flood, 50 connections x 5,000',
      roundMs: 1000,
      maxInFlight: DEFAULT_HTTP_LIMITS.maxRequestsInFlight,
      maxConnections: 1000,
      connections: 50,
      pipeline: 5000,
      seconds: 0,
    },
    {
      name: 'pipelined flood, 100 connections x 4,000, cap 2,000',
      roundMs: 1000,
      maxInFlight: 2000,
      maxConnections: 1000,
      connections: 100,
      pipeline: 4000,
      seconds: 0,
    },
    {
      name: 'connections flood, 4,000 keep-alive, 15 s',
      roundMs: 1000,
      maxInFlight: DEFAULT_HTTP_LIMITS.maxRequestsInFlight,
      maxConnections: 5000,
      connections: 4000,
      pipeline: 1,
      seconds: 15,
    },
  ],
);

describe('floods', () => {
  for (const flood of FLOODS) {
    it(`${flood.name}: memory under the ceiling, nothing acknowledged lost`, async (t) => {
      const calendar = await startCalendarProcess(tempDir(t), [
        '--round-interval',
        String(flood.roundMs),
        '--max-requests-in-flight',
        String(flood.maxInFlight),
        '--max-connections',
        String(flood.maxConnections),
        '--log-level',
        'warn',
      ]);
      t.after(() => calendar.stop('SIGKILL'));
      const rss = sampleRss(calendar.child.pid as number);
      const load = await pipelineDigests(calendar.url, {
        connections: flood.connections,
        pipeline: flood.pipeline,
        thinkMs: 0,
      });
      await sleep(flood.seconds * 1000);
      load.stopSending();
      const result = await load.finish(120_000);
      await sleep(2000);
      const { peak, last } = rss.stop();
      const started = Date.now();
      const probe = await fetch(`${calendar.url}/digest`, { method: 'POST', body: new Uint8Array(32) });
      const probeMs = Date.now() - started;
      const lost = (await lostOverHttp(calendar.url, result.acks)).length;
      const ceiling = ceilingMiB(flood);
      const within = peak <= ceiling && last <= ceiling;
      reportFault({
        case: flood.name,
        tries: result.sentBefore,
        acknowledged: result.acks.length,
        lost,
        result: `${within && lost === 0 && probe.status === 200 ? 'ok' : 'FAIL'} (RSS peak ${peak} MiB, 2 s after ${last} MiB, ceiling ${ceiling} MiB; 503 ${result.counts.refused}, never read ${result.unanswered}; a probe after: ${probe.status} in ${probeMs} ms)`,
      });
      assert.ok(peak <= ceiling, `RSS peaked at ${peak} MiB, over ${ceiling}`);
      assert.ok(last <= ceiling, `RSS ${last} MiB after the flood, over ${ceiling}`);
      assert.equal(probe.status, 200);
      assert.equal(lost, 0);
      assert.ok(result.acks.length > 0);
    });
  }
});
