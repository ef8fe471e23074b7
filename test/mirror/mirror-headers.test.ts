/**
 * A mirror with a node checks every Bitcoin attestation it copies against that node's headers: it
 * follows a calendar stamping on litecoind when given the same node, and refuses the proofs when its
 * node has another chain; `otsd verify-journal --bitcoin-rpc` checks the proofs a mirror holds the same
 * way.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCliAsync } from '../cli/run-cli.js';
import { startTestNode } from '../helpers/calendar-node.js';
import { allProved, startLitecoinCalendar } from '../helpers/litecoin-calendar.js';
import { litecoindUnavailable, startLitecoind } from '../helpers/litecoind.js';
import { requireTools } from '../helpers/require-tools.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';

describe('mirror header checks', () => {
  it('accepts proofs its node confirms and refuses proofs of another chain', async (t) => {
    if (!requireTools(t, litecoindUnavailable())) return;
    const { ltc, node, miner, mempool, postDigest, explain } = await startLitecoinCalendar(t, {
      minConfirmations: 1,
    });
    const commitments = [await postDigest(), await postDigest()];
    await waitFor('a stamping transaction', async () => (await mempool())[0]);
    await ltc.rpc.call('generatetoaddress', 1, miner);
    await waitFor('the proofs', () => allProved(node, commitments), 30_000, explain);

    const startMirror = async (rpcUrl: string, dataDir = tempDir(t)) => {
      const mirror = await startTestNode(t, {
        dataDir,
        mirrorOf: node.url,
        bitcoin: {
          network: 'litecoin-regtest',
          rpc: { url: rpcUrl },
          minConfirmations: 1,
          stampIntervalMs: 1000,
        },
      });
      return mirror;
    };
    const goodDir = tempDir(t);
    const good = await startMirror(ltc.rpcUrl, goodDir);
    await waitFor('the mirror to catch up', () =>
      good.calendar.journal.head.records === node.calendar.journal.head.records ? true : undefined,
    );
    assert.equal(good.mirror?.status().refusals, 0);
    // the proofs it holds, checked again against a node: its own, and one of another chain
    const recheck = (rpcUrl: string) =>
      runCliAsync(['verify-journal', goodDir, '--bitcoin-rpc', rpcUrl, '--uri', node.url]);
    const own = await recheck(ltc.rpcUrl);
    assert.equal(own.status, 0, own.stderr);
    assert.match(
      own.stdout,
      /; the attestations of its 1 proof check out against the node http:\/\/127\.0\.0\.1:\d+\/?\n$/,
    );

    const otherChain = await startLitecoind(t);
    await otherChain.rpc.call('generatetoaddress', 110, miner);
    const bad = await startMirror(otherChain.rpcUrl);
    const refused = await waitFor('the refusal', () => bad.mirror?.status().lastRefusal?.reason);
    assert.match(refused, /does not match the node's block header/);
    const other = await recheck(otherChain.rpcUrl);
    assert.equal(other.status, 1, other.stdout);
    assert.match(
      other.stderr,
      /journal invalid: record \d+: Bitcoin attestation at height \d+ does not match the node's block header/,
    );
    assert.equal(bad.calendar.index.lookup(Buffer.from(commitments[0] as string, 'hex')).state, 'unknown');
  });
});
