/**
 * The node-less attestation check on real mainnet headers (test/fixtures/bitcoin-headers.json): a
 * header is trusted when it links to a compiled-in checkpoint, or comes after the last checkpoint with
 * the work of 6 blocks at the checkpoint's target on it; an upstream that names another network,
 * serves headers that do not reach the checkpoint or lack their work, is refused. On mined headers of
 * a scaled-down difficulty (the reviewer's time warp, /tmp/review12/s/timewarp.mjs): work is counted,
 * not blocks; a header timed at or before the median of the 11 before it is refused, and one timed
 * more than two hours past the clock waits.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { anchor, type ChainRules, chainRules } from '../../src/mirror/checkpoints/index.js';
import { CheckpointedChain, checkpointedHeaderCheck } from '../../src/mirror/header-chain.js';
import { NotYetConfirmedError } from '../../src/mirror/header-check.js';
import { MirrorIntegrityError } from '../../src/mirror/integrity-error.js';
import { bitsFromTarget, targetFromBits } from '../../src/mirror/proof-of-work.js';
import { upstreamHeaderCheck } from '../../src/mirror/upstream-headers.js';
import { BlockHeader, sha256d, toHex } from '../../src/ots/index.js';
import { startTestNode } from '../helpers/calendar-node.js';
import { forgeHeader, startForgingUpstream } from '../helpers/forging-upstream.js';
import { fixtureSource, mainnetHeader } from '../helpers/mainnet-headers.js';

const main = chainRules('main') as ChainRules;
const rootOf = (height: number) => new BlockHeader(mainnetHeader(height)).merkleRoot;
/** Mainnet rules whose last checkpoint is `height` (a real block of the fixture). */
const rulesEndingAt = (height: number): ChainRules => ({
  ...main,
  checkpoints: [anchor(height, new BlockHeader(mainnetHeader(height)).hashHex, 0x1d00ffff)],
});

/**
 * Headers mined after a made-up checkpoint at 2015 (its hash all 9s), on a scaled-down difficulty: a
 * network whose easiest target is regtest's, so that a test mines thousands of blocks in seconds.
 * `blocks` gives each block's nBits and time (and merkle root) from 2016 on.
 */
function minedChain(periodBits: number, blocks: { bits?: number; time: number; root?: Uint8Array }[]) {
  const checkpoint = new Uint8Array(32).fill(9);
  const rules: ChainRules = {
    network: 'main',
    powLimit: targetFromBits(0x207fffff),
    checkpoints: [{ height: 2015, hash: toHex(checkpoint), bitsAfter: periodBits }],
  };
  const headers: Uint8Array[] = [];
  let prev: Uint8Array = checkpoint;
  for (const { bits = periodBits, time, root = new Uint8Array(32) } of blocks) {
    const header = forgeHeader(prev, root, bits, true, time);
    headers.push(header);
    prev = sha256d(header);
  }
  const source = async (from: number, count: number) => headers.slice(from - 2016, from - 2016 + count);
  return { rules, headers, source };
}

const T0 = 1_750_000_000;
const WEEK = 7 * 24 * 60 * 60;

describe('after the last checkpoint: work, and the timestamp rules', () => {
  it('counts the work on the attested block, not its blocks: a time-warped retarget does not make them cheap', async () => {
    // the reviewer's time warp: real blocks up to the end of a period, whose last block (the attested
    // one) is timed 8 weeks after the period's first, so the next period's target is 4 times easier
    const period = 0x2000ffff;
    const attested = new Uint8Array(32).fill(0xaa);
    const blocks = Array.from({ length: 2016 }, (_, i) =>
      i === 2015 ? { time: T0 + 8 * WEEK, root: attested } : { time: T0 + i * 600 },
    );
    const easier = bitsFromTarget(targetFromBits(period) * 4n);
    const after = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ bits: easier, time: T0 + 8 * WEEK + (i + 1) * 600 }));
    const now = () => (T0 + 9 * WEEK) * 1000;
    const fiveAfter = minedChain(period, [...blocks, ...after(5)]);
    // 1 + 5/4 blocks of work: before, "6 confirmations" accepted it
    await assert.rejects(
      new CheckpointedChain(fiveAfter.rules, fiveAfter.source, { now }).merkleRoot(4031),
      (e: Error) => {
        assert.ok(e instanceof NotYetConfirmedError, String(e));
        assert.match(e.message, /Bitcoin block 4031 has the work of 2\.25 of the 6 blocks/);
        return true;
      },
    );
    // 1 + 20/4: the work of 6 blocks at the checkpoint's target
    const twentyAfter = minedChain(period, [...blocks, ...after(20)]);
    const chain = new CheckpointedChain(twentyAfter.rules, twentyAfter.source, { now });
    assert.deepEqual(await chain.merkleRoot(4031), attested);
  });

  it('refuses a header timed at or before the median of the 11 before it, once 11 are known', async () => {
    const easy = 0x207fffff;
    // the second block is timed before the first: allowed, as in the real chain (the median then is the first's)
    const times = [T0, T0 - 60, ...Array.from({ length: 9 }, (_, i) => T0 + (i + 1) * 600)];
    const honest = minedChain(
      easy,
      [...times, T0 + 6000, T0 + 6600].map((time) => ({ time })),
    );
    const now = () => (T0 + WEEK) * 1000;
    await new CheckpointedChain(honest.rules, honest.source, { now }).merkleRoot(2022);
    // block 2027, the 12th after the checkpoint: the median of 2016..2026 is block 2021's time
    const warped = minedChain(
      easy,
      [...times, T0 + 4 * 600, T0 + 6600].map((time) => ({ time })),
    );
    await assert.rejects(
      new CheckpointedChain(warped.rules, warped.source, { now }).merkleRoot(2022),
      (e: Error) => {
        assert.ok(e instanceof MirrorIntegrityError, String(e));
        assert.equal(
          e.message,
          `Bitcoin header 2027 from the upstream is timed ${T0 + 2400}, not after ${T0 + 2400}, the median of the 11 before it`,
        );
        return true;
      },
    );
  });

  it('waits for a header timed more than two hours past its clock, and takes it once the clock is there', async () => {
    const chain = minedChain(
      0x207fffff,
      Array.from({ length: 8 }, (_, i) => ({ time: T0 + i * 600 })),
    );
    let clock = T0 + 3 * 600 - 2 * 3600 - 1;
    const check = new CheckpointedChain(chain.rules, chain.source, { now: () => clock * 1000 });
    await assert.rejects(check.merkleRoot(2017), (e: Error) => {
      assert.ok(e instanceof NotYetConfirmedError, String(e));
      assert.match(
        e.message,
        /Bitcoin header 2019 from the upstream is timed \d+, more than two hours past this machine's clock/,
      );
      return true;
    });
    clock += 3600;
    assert.deepEqual(
      await check.merkleRoot(2017),
      new BlockHeader(chain.headers[1] as Uint8Array).merkleRoot,
    );
  });
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
    // block 6 has 5 blocks on it in the fixture: not yet (retried, not an integrity error)
    await assert.rejects(chain.merkleRoot(6), (e: Error) => {
      assert.ok(e instanceof NotYetConfirmedError);
      assert.match(e.message, /Bitcoin block 6 has the work of 5 of the 6 blocks .*headers end at 10/);
      return true;
    });
    await assert.rejects(chain.merkleRoot(12), NotYetConfirmedError);
  });

  it('across a real retarget boundary, with the nBits the checkpoint sets', async () => {
    const rules = { ...main, checkpoints: main.checkpoints.slice(0, 1) };
    const chain = new CheckpointedChain(rules, fixtureSource, { confirmations: 2 });
    assert.deepEqual(await chain.merkleRoot(2016), rootOf(2016));
    const lying = {
      ...main,
      checkpoints: [{ ...(main.checkpoints[0] as ChainRules['checkpoints'][0]), bitsAfter: 0x1c00ffff }],
    };
    await assert.rejects(
      new CheckpointedChain(lying, fixtureSource, { confirmations: 2 }).merkleRoot(2016),
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
