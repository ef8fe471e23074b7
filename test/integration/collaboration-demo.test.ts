/**
 * The two commands of docs/bitcoin.md's collaborative stamping demo, as processes: a calendar on the
 * embedded regtest node (what `npm start` runs), and a second calendar on the same node whose master
 * is the first. The second has no coin of its own: its digests are anchored through the first
 * calendar's transactions alone, python-opentimestamps verifies them against the node, and its status
 * says its fallback cannot pay.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { embeddedBcoinInstalled } from '../../src/bitcoin/embedded-bcoin.js';
import { runPython } from '../clients/run-client.js';
import { FAST_EMBEDDED_REGTEST, startCalendarProcess } from '../helpers/calendar-process.js';
import { requireTools } from '../helpers/require-tools.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';
import { oracleUnavailable } from '../oracle/python-oracle.js';

describe('the collaborative stamping demo', () => {
  it('a calendar whose master is the embedded-node calendar is anchored through its transactions', async (t) => {
    if (
      !requireTools(
        t,
        oracleUnavailable(),
        embeddedBcoinInstalled() ? undefined : 'npm ci --prefix embedded/bcoin first',
      )
    )
      return;
    const first = tempDir(t);
    const master = await startCalendarProcess(first, FAST_EMBEDDED_REGTEST);
    t.after(() => master.stop());
    const rpc = readFileSync(join(first, 'regtest-bcoin', 'rpc-url'), 'utf8').trim();
    // the docs' second command, with the demo chain's pace of a block a second; a loaded machine may
    // still let the deadline pass (a timeout counted, nothing paid): the assertions hold either way
    const calendar = await startCalendarProcess(tempDir(t), [
      ...['--bitcoin-rpc', rpc, '--bitcoin-network', 'bcoin-regtest'],
      ...['--min-confirmations', '2', '--stamp-interval', '1'],
      ...['--master', master.url, '--master-timeout-blocks', '60', '--master-poll-interval', '1000'],
      ...['--log-level', 'warn'],
    ]);
    t.after(() => calendar.stop());
    const [submitted] = await runPython('python_client.py', [calendar.url, 'submit', '1']);
    const commitment = submitted?.commitment as string;
    await waitFor(
      'the proof through the master',
      async () =>
        (await fetch(`${calendar.url}/timestamp/${commitment}`)).status === 200 ? true : undefined,
      120_000,
      () => `${calendar.output()}\nmaster:\n${master.output()}`,
    );
    const [verified] = (await runPython('python_verify.py', [calendar.url, rpc, commitment])) as {
      verified: { height: number }[];
    }[];
    assert.equal(verified?.verified.length, 1);
    const status = (await (
      await fetch(calendar.url, { headers: { accept: 'application/json' } })
    ).json()) as {
      anchoring: { in_flight: unknown; fees_spent_sats: number };
      collaboration: { fallback_can_pay: boolean };
    };
    // it paid nothing and has no transaction: the proof went through the master's
    assert.equal(status.anchoring.fees_spent_sats, 0);
    assert.equal(status.anchoring.in_flight, null);
    assert.equal(status.collaboration.fallback_can_pay, false);
  });
});
