/**
 * The scale-out topology of docs/aggregation.md on loopback, with deploy/nginx-scale-out.conf: nginx
 * (TLS) spreads digests over two aggregators and serves proofs from a mirror; the calendar behind them
 * stamps on the embedded bcoin regtest chain. The Python reference client stamps through nginx and
 * upgrades through the mirror, to a Bitcoin attestation.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runPython } from '../clients/run-client.js';
import { FAST_EMBEDDED_REGTEST, startCalendarProcess } from '../helpers/calendar-process.js';
import { nginxPorts, nginxUnavailable, startNginx } from '../helpers/nginx.js';
import { embeddedBcoinMissing, requireTools } from '../helpers/require-tools.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';
import { oracleUnavailable } from '../oracle/python-oracle.js';

type Status = { totals: { rounds: number; digests: number }; commitments?: number };
const status = async (url: string) =>
  (await (await fetch(url, { headers: { accept: 'application/json' } })).json()) as Status;

describe('scale-out: nginx, two aggregators, a calendar and a mirror', () => {
  it('the Python client stamps through nginx and upgrades through the mirror', async (t) => {
    if (!requireTools(t, nginxUnavailable(), oracleUnavailable(), embeddedBcoinMissing())) return;
    const dir = tempDir(t);
    const ports = await nginxPorts();
    const publicUrl = `https://127.0.0.1:${ports.https}`;
    const calendar = await startCalendarProcess(join(dir, 'calendar'), [
      '--uri',
      publicUrl,
      ...FAST_EMBEDDED_REGTEST,
    ]);
    t.after(() => calendar.stop());
    // regtest has no proof of work a mirror without a node could check: the mirror trusts the calendar
    const mirror = await startCalendarProcess(join(dir, 'mirror'), [
      '--role',
      'mirror',
      '--upstream',
      calendar.url,
      '--mirror-headers',
      'insecure-none',
      '--log-level',
      'warn',
    ]);
    t.after(() => mirror.stop());
    const startAggregator = async (n: number, port?: number) => {
      const aggregator = await startCalendarProcess(
        join(dir, `aggregator-${n}`),
        ['--role', 'aggregator', '--upstream', calendar.url, '--round-interval', '50', '--log-level', 'warn'],
        port,
      );
      t.after(() => aggregator.stop());
      return aggregator;
    };
    const aggregators = [await startAggregator(1), await startAggregator(2)];
    const nginx = await startNginx(t, dir, {
      file: 'nginx-scale-out.conf',
      replace: [
        ['127.0.0.1:14790', new URL((aggregators[0] as { url: string }).url).host],
        ['127.0.0.1:14791', new URL((aggregators[1] as { url: string }).url).host],
        ['127.0.0.1:14792', new URL(mirror.url).host],
      ],
      ports,
    });
    const env = { SSL_CERT_FILE: nginx.certFile };

    // stamped through nginx: the answers name the public URL, where the client will come back
    const submitted = await runPython('python_client.py', [publicUrl, 'submit', '6'], env);
    assert.equal(submitted.length, 6);
    const commitments = submitted.map((s) => s.commitment as string);
    const taken = await Promise.all(aggregators.map(async (a) => (await status(a.url)).totals));
    assert.ok(
      taken.every((totals) => totals.digests > 0),
      `nginx spread the digests: ${JSON.stringify(taken)}`,
    );
    // one commitment per aggregator round reached the calendar, not one per client
    const rounds = taken.reduce((sum, totals) => sum + totals.rounds, 0);
    assert.equal((await status(calendar.url)).commitments, rounds);

    // an aggregator killed at any moment loses nothing acknowledged: nginx passes its clients to the
    // other, and restarted (it keeps no state) it takes digests again
    const killed = aggregators[0] as (typeof aggregators)[0];
    await killed.stop('SIGKILL');
    const duringOutage = await runPython('python_client.py', [publicUrl, 'submit', '4'], env);
    const restarted = await startAggregator(1, Number(new URL(killed.url).port));
    await waitFor('the restarted aggregator to take digests', async () => {
      await runPython('python_client.py', [publicUrl, 'submit', '1'], env);
      return (await status(restarted.url)).totals.digests > 0 ? true : undefined;
    });
    commitments.push(...duringOutage.map((s) => s.commitment as string));

    // the mirror serves the Bitcoin proofs once the calendar has them
    const fromMirror = await waitFor(
      'Bitcoin proofs on the mirror',
      async () => {
        const answers = await runPython('python_client.py', [mirror.url, 'get', ...commitments]);
        return answers.every((a) => Array.isArray(a.heights) && a.heights.length > 0) ? answers : undefined;
      },
      120_000,
      () => `calendar:\n${calendar.output().slice(-2000)}\nmirror:\n${mirror.output().slice(-2000)}`,
    );
    // and the client, coming back to the public URL, gets the same proofs through nginx
    const fromPublic = await runPython('python_client.py', [publicUrl, 'get', ...commitments], env);
    assert.deepEqual(fromPublic, fromMirror);
  });
});
