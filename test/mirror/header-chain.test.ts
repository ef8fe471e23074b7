/**
 * The node-less attestation check on real mainnet headers (test/fixtures/bitcoin-headers.json): a
 * header is trusted when it links to a compiled-in checkpoint, or comes after the last checkpoint with
 * real work and enough confirmations; an upstream that names another network, serves headers that do
 * not reach the checkpoint or lack their work, is refused.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { anchor, type ChainRules, chainRules } from '../../src/mirror/checkpoints/index.js';
import { CheckpointedChain, checkpointedHeaderCheck } from '../../src/mirror/header-chain.js';
import { MirrorIntegrityError } from '../../src/mirror/integrity-error.js';
import { targetFromBits } from '../../src/mirror/proof-of-work.js';
import { upstreamHeaderCheck } from '../../src/mirror/upstream-headers.js';
import { BlockHeader } from '../../src/ots/index.js';
import { startTestNode } from '../helpers/calendar-node.js';
import { startForgingUpstream } from '../helpers/forging-upstream.js';
import { fixtureSource, mainnetHeader } from '../helpers/mainnet-headers.js';

const main = chainRules('main') as ChainRules;
const rootOf = (height: number) => new BlockHeader(mainnetHeader(height)).merkleRoot;
/** Mainnet rules whose last checkpoint is `height` (a real block of the fixture). */
const rulesEndingAt = (height: number): ChainRules => ({
  ...main,
  checkpoints: [anchor(height, new BlockHeader(mainnetHeader(height)).hashHex, 0x1d00ffff)],
});

describe('headers linked to the compiled-in checkpoints', () => {
  it('takes a merkle root from a real header that is a checkpoint, and refuses an altered one', async () => {
    for (const height of [2015, 4031, 606815]) {
      const chain = new CheckpointedChain(main, fixtureSource);
      assert.deepEqual(await chain.merkleRoot(height), rootOf(height));
    }
    const altered = mainnetHeader(4031).slice();
    altered[40] = (altered[40] as number) ^ 1;
    const chain = new CheckpointedChain(main, async () => [altered]);
    await assert.rejects(
      chain.merkleRoot(4031),
      /Bitcoin header 4031 from the upstream (lacks its proof of work|.*do not reach the checkpoint)/,
    );
  });

  it('after the last checkpoint, takes a block with 6 confirmations of real work, once', async () => {
    let fetched = 0;
    const chain = new CheckpointedChain(rulesEndingAt(4), async (from, count) => {
      fetched += count;
      return fixtureSource(from, count);
    });
    const check = checkpointedHeaderCheck(chain);
    await check(5, rootOf(5)); // blocks 5..10
    const afterFirst = fetched;
    await check(5, rootOf(5));
    assert.equal(fetched, afterFirst, 'cached');
    await assert.rejects(
      check(5, rootOf(6)),
      /attestation at height 5 does not match the block's merkle root/,
    );
    // block 6 has 5 confirmations in the fixture: not yet (a plain Error: retried, not an integrity error)
    const notYet = await chain.merkleRoot(6).catch((e: unknown) => e);
    assert.ok(notYet instanceof Error && !(notYet instanceof MirrorIntegrityError));
    assert.match(notYet.message, /Bitcoin block 6 has 5 of the 6 confirmations/);
  });

  it('across a real retarget boundary, with the nBits the checkpoint sets', async () => {
    const rules = { ...main, checkpoints: main.checkpoints.slice(0, 1) };
    const chain = new CheckpointedChain(rules, fixtureSource, 2);
    assert.deepEqual(await chain.merkleRoot(2016), rootOf(2016));
    const lying = {
      ...main,
      checkpoints: [{ ...(main.checkpoints[0] as ChainRules['checkpoints'][0]), bitsAfter: 0x1c00ffff }],
    };
    await assert.rejects(
      new CheckpointedChain(lying, fixtureSource, 2).merkleRoot(2016),
      /header 2016 from the upstream has nBits 0x1d00ffff where the chain requires 0x1c00ffff/,
    );
  });

  it('refuses real headers that do not reach the checkpoint', async () => {
    // blocks 5..10 are real and carry real work, but the checkpoint at 10 is another block
    const rules: ChainRules = {
      ...main,
      checkpoints: [anchor(10, new BlockHeader(mainnetHeader(2015)).hashHex, 0x1d00ffff)],
    };
    await assert.rejects(
      new CheckpointedChain(rules, fixtureSource).merkleRoot(5),
      /Bitcoin headers 5\.\.10 from the upstream do not reach the checkpoint at 10/,
    );
    // and an upstream that has fewer headers than the chain to the checkpoint
    await assert.rejects(
      new CheckpointedChain(main, fixtureSource).merkleRoot(5),
      /the upstream serves 6 headers from 5 where the chain to block 2015 has 2011/,
    );
  });

  it('over HTTP: takes headers of its own network only, and never a network without a rule', async (t) => {
    const calendar = await startTestNode(t);
    const upstream = await startForgingUpstream(t, calendar.url);
    upstream.headers = (from, count) => [mainnetHeader(from)].slice(0, count);
    const check = upstreamHeaderCheck(upstream.url, 'main');
    await check(2015, rootOf(2015));
    for (const [network, shown] of [
      ['regtest', 'network "regtest"'],
      ['dogecoin', 'network "dogecoin"'],
      [null, 'no network'],
    ] as const) {
      upstream.network = network;
      await assert.rejects(
        upstreamHeaderCheck(upstream.url, 'main')(4031, rootOf(4031)),
        new RegExp(`the upstream says its headers are of ${shown}; this mirror checks main`),
      );
    }
    assert.throws(
      () => upstreamHeaderCheck(upstream.url, 'regtest'),
      /cannot check Bitcoin attestations on regtest/,
    );
    assert.equal(targetFromBits(0x1d00ffff) < targetFromBits(0x207fffff), true);
  });
});
