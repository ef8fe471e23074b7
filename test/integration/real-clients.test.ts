/**
 * The calendar as real OpenTimestamps clients use it, over real HTTP on loopback:
 * python-opentimestamps' RemoteCalendar (Debian) and the npm `opentimestamps` client library.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DetachedTimestampFile, fromHex, Timestamp, toHex } from '../../src/ots/index.js';
import { runJsClient, runPython } from '../clients/run-client.js';
import { proveCommitments, startTestNode } from '../helpers/calendar-node.js';
import { jsClientMissing, requireTools } from '../helpers/require-tools.js';
import { oracleUnavailable } from '../oracle/python-oracle.js';

const python = (args: string[]) => runPython('python_client.py', args);

describe('python-opentimestamps RemoteCalendar', () => {
  it('submits digests, gets pending answers, then the Bitcoin proofs', async (t) => {
    if (!requireTools(t, oracleUnavailable())) return;
    const node = await startTestNode(t, { roundIntervalMs: 50 });
    const submitted = await python([node.url, 'submit', '5']);
    assert.equal(submitted.length, 5);
    for (const s of submitted) {
      // the answer parses with our library too, from the digest to the commitment the journal holds
      const timestamp = Timestamp.fromBytes(fromHex(s.digest as string), fromHex(s.timestamp as string));
      assert.ok([...timestamp.allAttestations()].some(([msg]) => toHex(msg) === s.commitment));
      assert.equal(node.calendar.index.lookup(fromHex(s.commitment as string)).state, 'pending');
    }
    const commitments = submitted.map((s) => s.commitment as string);
    for (const answer of await python([node.url, 'get', ...commitments])) {
      assert.equal(answer.not_found, 'Pending confirmation in Bitcoin blockchain');
    }
    assert.equal((await python([node.url, 'get', 'ab'.repeat(32)]))[0]?.not_found, 'Not found');

    await proveCommitments(node, commitments.map(fromHex), 4242);
    for (const answer of await python([node.url, 'get', ...commitments])) {
      assert.deepEqual(answer.heights, [4242]);
      const served = await node.calendar.lookup(fromHex(answer.commitment as string));
      assert.equal(served.state, 'found');
      if (served.state === 'found') assert.equal(answer.timestamp, toHex(served.timestamp.toBytes()));
    }
  });
});

describe('npm opentimestamps client', () => {
  it('stamps against the calendar, gets the pending answer on upgrade, then upgrades to Bitcoin', async (t) => {
    if (!requireTools(t, jsClientMissing())) return;
    const node = await startTestNode(t, { roundIntervalMs: 50 });
    const client = (args: string[]) =>
      runJsClient<{ stamped: string; upgraded: boolean; after: string }>([node.url, ...args]);
    const first = await client([]);
    assert.equal(first.upgraded, false);
    assert.equal(first.after, first.stamped);
    const file = DetachedTimestampFile.fromBytes(fromHex(first.stamped));
    const pending = [...file.timestamp.allAttestations()];
    assert.equal(pending.length, 1);
    assert.equal(String(pending[0]?.[1]), `PendingAttestation('${node.url}')`);

    await proveCommitments(node, [pending[0]?.[0] as Uint8Array], 99);
    const second = await client([first.stamped]);
    assert.equal(second.upgraded, true);
    const upgraded = DetachedTimestampFile.fromBytes(fromHex(second.after));
    assert.ok(
      [...upgraded.timestamp.allAttestations()].some(
        ([, a]) => String(a) === 'BitcoinBlockHeaderAttestation(99)',
      ),
    );
  });
});
