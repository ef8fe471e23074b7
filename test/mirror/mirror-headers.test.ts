/**
 * A mirror with a node checks every Bitcoin attestation it copies against that node's headers: it
 * follows a calendar stamping on litecoind when given the same node, and refuses the proofs when its
 * node has another chain.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startTestNode } from '../helpers/calendar-node.js';
import { allProved, startLitecoinCalendar } from '../helpers/litecoin-calendar.js';
import { litecoindUnavailable, startLitecoind } from '../helpers/litecoind.js';
import { requireTools } from '../helpers/require-tools.js';
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

    const startMirror = async (rpcUrl: string) => {
      const mirror = await startTestNode(t, {
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
    const good = await startMirror(ltc.rpcUrl);
    await waitFor('the mirror to catch up', () =>
      good.calendar.journal.head.records === node.calendar.journal.head.records ? true : undefined,
    );
    assert.equal(good.mirror?.status().refusals, 0);

    const otherChain = await startLitecoind(t);
    await otherChain.rpc.call('generatetoaddress', 110, miner);
    const bad = await startMirror(otherChain.rpcUrl);
    const refused = await waitFor('the refusal', () => bad.mirror?.status().lastRefusal?.reason);
    assert.match(refused, /does not match the node's block header/);
    assert.equal(bad.calendar.index.lookup(Buffer.from(commitments[0] as string, 'hex')).state, 'unknown');
  });
});
