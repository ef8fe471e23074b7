/**
 * External stamping on litecoind against a donor who does not play fair (the outside review of issue
 * 15), on a chain of its own: donations chained to hold off the own transaction, a flood of forged posts,
 * a node that does not answer the relay, a double-spend seen only in the mempool, donations given up
 * before a restart, and the refusals of rules 12, 13 (too many pending) and 14 on a real node.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { toHex } from '../../src/ots/index.js';
import { buildDonation, type Coin, payment } from '../helpers/donation.js';
import {
  donationCalendar,
  donationSetting,
  donor,
  donorCoins,
  journalKinds,
  mine,
  mineAndProve,
  offeredTip,
  post,
  SETTINGS,
  stateOf,
  txidOf,
} from '../helpers/external-donations.js';
import { allProved, ownTransactionSent } from '../helpers/litecoin-calendar.js';
import { litecoindForFile, litecoindUnavailable } from '../helpers/litecoind.js';
import { requireTools } from '../helpers/require-tools.js';
import { waitFor } from '../helpers/wait-for.js';

const chain = litecoindForFile();

const needs = (t: TestContext) => requireTools(t, litecoindUnavailable());

/** The first stamp cycle a minute or more after start: the own transaction goes out only when a wait ends. */
const LATE_CYCLES = { stampIntervalMs: 120_000 };

/** The coin spent without the OP_RETURN, at a higher fee: a double-spend of any donation from it. */
const elsewhere = (coin: Coin, tip: Uint8Array) =>
  buildDonation(donor, { coin, tip, feeRate: 100, opReturnScript: Uint8Array.from([0x6a, 0x01, 0x00]) });

/** A donation whose signature is broken: it passes every check but the node's (rule 14). */
function forged(coin: Coin, tip: Uint8Array, feeRate: number): Uint8Array {
  const raw = buildDonation(donor, { coin, tip, feeRate });
  // inside the signature's s: the witness ends with it, its sighash byte, the key's length and key (33),
  // then the lock time (4)
  const at = raw.length - 4 - 33 - 1 - 10;
  raw[at] = (raw[at] as number) ^ 1;
  return raw;
}

describe('external stamping on litecoind: a donor who does not play fair', () => {
  it('the own transaction waits at most wait_blocks from the first donation covering a commitment: chained donations do not extend it', async (t) => {
    if (!needs(t)) return;
    const { ltc, calendar, coins, commitment, tip } = await donationSetting(t, chain, LATE_CYCLES, 3);
    const [a, b, c] = coins as [Coin, Coin, Coin];
    const first = buildDonation(donor, { coin: a, tip, feeRate: 40 });
    const taken = await post(calendar, first);
    assert.equal(taken.status, 202, taken.text);
    const height = await ltc.rpc.call<number>('getblockcount');
    assert.equal(taken.json().defers_own_tx_until, height + SETTINGS.waitBlocks);
    // the donations stay out of blocks (their fees count as nothing to the miner), as a donor's can
    await ltc.rpc.call('prioritisetransaction', txidOf(first), 0, -100_000_000);
    await mine(ltc, 1, calendar.miner);
    // a block later, another donation from another coin, to the newer tip over the same commitments
    await calendar.postDigest();
    const newer = await offeredTip(calendar);
    const second = buildDonation(donor, { coin: b, tip: newer, feeRate: 40 });
    const chained = await post(calendar, second);
    assert.equal(chained.status, 202, chained.text);
    assert.equal(chained.json().defers_own_tx_until, height + SETTINGS.waitBlocks);
    await ltc.rpc.call('prioritisetransaction', txidOf(second), 0, -100_000_000);
    await mine(ltc, 1, calendar.miner);
    // at the end of the first wait the own transaction goes out, both donations still pending
    const donations = [txidOf(first), txidOf(second)];
    await waitFor(
      'the own transaction at the end of the first wait',
      async () => (await calendar.mempool()).find((txid) => !donations.includes(txid)),
      30_000,
      calendar.explain,
    );
    assert.equal(await stateOf(calendar, txidOf(first)), 'mempool');
    assert.equal(await stateOf(calendar, txidOf(second)), 'mempool');
    await mineAndProve(calendar, [commitment], 'the proof');
    // a donation to the proven tip: 410
    const late = await post(calendar, buildDonation(donor, { coin: c, tip: newer, feeRate: 40 }));
    assert.equal(late.status, 410, late.text);
    assert.match(late.text, /rule 9 \(tip-proven\)/);
  });

  it('a double-spend seen only in the mempool ends the wait without a block, and frees its slot at once', async (t) => {
    if (!needs(t)) return;
    const { ltc, calendar, coins, tip } = await donationSetting(
      t,
      chain,
      { ...LATE_CYCLES, external: { ...SETTINGS, maxPerTip: 1 } },
      2,
    );
    const [coin, next] = coins as [Coin, Coin];
    const raw = buildDonation(donor, { coin, tip, feeRate: 40 });
    const taken = await post(calendar, raw);
    assert.equal(taken.status, 202, taken.text);
    assert.notEqual(taken.json().defers_own_tx_until, null);
    // the tip's one slot is taken
    const another = buildDonation(donor, { coin: next, tip, feeRate: 40 });
    const full = await post(calendar, another);
    assert.equal(full.status, 409, full.text);
    assert.match(full.text, /rule 13 \(tip-full\)/);
    // the calendar at the node's tip, and a check of the mempool done: no new block will come
    const height = await ltc.rpc.call<number>('getblockcount');
    await waitFor('the calendar at the tip', async () =>
      calendar.node.anchoring?.status().chainHeight === height ? true : undefined,
    );
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const conflict = elsewhere(coin, tip);
    await ltc.rpc.call('sendrawtransaction', toHex(conflict));
    await waitFor(
      'the donation seen double-spent',
      async () => (await stateOf(calendar, txidOf(raw))) === 'conflicted' || undefined,
      60_000,
      calendar.explain,
    );
    await waitFor(
      'the own transaction',
      async () => (await calendar.mempool()).find((txid) => txid !== txidOf(conflict)),
      30_000,
      calendar.explain,
    );
    // within the same block, the same bytes posted again find the slot free: a full tip is not a
    // refusal kept for the block
    assert.equal(await ltc.rpc.call<number>('getblockcount'), height);
    const again = await post(calendar, another);
    assert.equal(again.status, 202, again.text);
  });

  it('E16: a donation whose block leaves the chain, its coin then spent elsewhere in the new branch: the own transaction proves', async (t) => {
    if (!needs(t)) return;
    const { ltc, calendar, coins, commitment, tip } = await donationSetting(
      t,
      chain,
      { ...LATE_CYCLES, minConfirmations: 2 },
      1,
    );
    const [coin] = coins as [Coin];
    const raw = buildDonation(donor, { coin, tip, feeRate: 40 });
    assert.equal((await post(calendar, raw)).status, 202);
    const [block] = await mine(ltc, 1, calendar.miner);
    const state = (wanted: string) => async () =>
      (await stateOf(calendar, txidOf(raw))) === wanted || undefined;
    await waitFor('the donation mined', state('mined'), 30_000, calendar.explain);
    await ltc.rpc.call('invalidateblock', block);
    await waitFor('the donation back in the mempool', state('mempool'), 30_000, calendar.explain);
    const conflict = elsewhere(coin, tip);
    await ltc.rpc.call('sendrawtransaction', toHex(conflict));
    // another coinbase address: not the invalid block again
    await mine(ltc, 1, payment(donor, 'p2wpkh').address as string);
    await waitFor('the donation double-spent', state('conflicted'), 30_000, calendar.explain);
    await ownTransactionSent(calendar);
    await mine(ltc, 2, calendar.miner);
    await waitFor(
      'the proof through the own transaction',
      () => allProved(calendar.node, [commitment]),
      30_000,
      calendar.explain,
    );
  });

  it("floods, a silent node and forged posts: rules 12, 13 and 14 refused on a real node, 429 past two posts from one address, 503 without the node's address; nothing journaled", async (t) => {
    if (!needs(t)) return;
    const calendar = await donationCalendar(t, chain, {
      fund: false,
      proxy: true,
      external: { ...SETTINGS, maxPending: 1 },
    });
    const proxy = calendar.proxy as NonNullable<typeof calendar.proxy>;
    const [coin, other, spent] = (await donorCoins(calendar, 3)) as [Coin, Coin, Coin];
    await calendar.postDigest();
    const tip = await offeredTip(calendar);
    const records = (await journalKinds(calendar)).length;
    // the calendar at the node's tip: refusals are kept until the next block the calendar reads
    const tipHeight = await calendar.ltc.rpc.call<number>('getblockcount');
    await waitFor(
      'the calendar at the tip',
      () => (calendar.node.anchoring?.status().chainHeight === tipHeight ? true : undefined),
      30_000,
      calendar.explain,
    );
    // rule 14: a broken signature, refused by the node's testmempoolaccept
    const bad = forged(coin, tip, 5);
    const refused = await post(calendar, bad);
    assert.equal(refused.status, 422, refused.text);
    assert.match(refused.text, /rule 14 \(node-refused\)/);
    // the same bytes again within the block: the refusal answered again, the node not asked
    const asked = () => proxy.calls.filter((c) => c.method === 'testmempoolaccept').length;
    const before = asked();
    const again = await post(calendar, bad);
    assert.equal(again.status, 422, again.text);
    assert.equal(asked(), before, 'the node asked again');
    // rule 12: the coin spent in the mempool by no donation
    await calendar.ltc.rpc.call('sendrawtransaction', toHex(elsewhere(spent, tip)));
    const conflict = await post(calendar, buildDonation(donor, { coin: spent, tip, feeRate: 5 }));
    assert.equal(conflict.status, 409, conflict.text);
    assert.match(conflict.text, /rule 12 \(conflict\)/);
    // a node slow to answer: one post is checked, one from the same address waits, the next is told to
    // retry; naming other clients in X-Forwarded-For changes nothing (no proxy is trusted here)
    proxy.hold(['testmempoolaccept']);
    const held = post(calendar, forged(coin, tip, 6));
    await waitFor('the first post at the node', async () => asked() > before || undefined);
    const spoofing = (n: number) => ({ 'x-forwarded-for': `192.0.2.${n}` });
    const waiting = [
      post(calendar, forged(coin, tip, 7), false, spoofing(7)),
      post(calendar, forged(coin, tip, 8), false, spoofing(8)),
    ];
    const busy = await Promise.race(waiting);
    assert.equal(busy.status, 429, busy.text);
    assert.match(busy.text, /too many posts being checked/);
    proxy.heal();
    assert.deepEqual((await Promise.all([held, ...waiting])).map((x) => x.status).sort(), [422, 422, 429]);
    // a node that does not answer the relay: 503, nothing of its address told, nothing written
    const raw = buildDonation(donor, { coin, tip, feeRate: 5 });
    proxy.drop(['sendrawtransaction']);
    const silent = await post(calendar, raw);
    proxy.heal();
    assert.equal(silent.status, 503, silent.text);
    assert.doesNotMatch(silent.text, /127\.0\.0\.1|http:|sendrawtransaction/);
    assert.equal((await journalKinds(calendar)).length, records, 'nothing journaled');
    // posted again once the node answers: checked again and taken
    const taken = await post(calendar, raw);
    assert.equal(taken.status, 202, taken.text);
    // E18: one pending in all (max_pending 1): a donation to a newer tip is told to retry
    // (a new tip is offered on a new block; the donation kept out of it)
    await calendar.ltc.rpc.call('prioritisetransaction', txidOf(raw), 0, -100_000_000);
    await calendar.postDigest();
    await mine(calendar.ltc, 1, calendar.miner);
    const newer = await offeredTip(calendar);
    const full = await fetch(`${calendar.node.url}/external/tx`, {
      method: 'POST',
      body: buildDonation(donor, { coin: other, tip: newer, feeRate: 5 }),
    });
    assert.equal(full.status, 429);
    assert.equal(full.headers.get('retry-after'), '1');
    assert.match(await full.text(), /rule 13 \(too-many\)/);
  });

  it('behind a trusted proxy, the limit per client counts the client X-Forwarded-For names', async (t) => {
    if (!needs(t)) return;
    const calendar = await donationCalendar(t, chain, {
      fund: false,
      proxy: true,
      trustProxy: ['127.0.0.1'],
    });
    const proxy = calendar.proxy as NonNullable<typeof calendar.proxy>;
    const [coin] = (await donorCoins(calendar, 1)) as [Coin];
    await calendar.postDigest();
    const tip = await offeredTip(calendar);
    const asked = () => proxy.calls.filter((c) => c.method === 'testmempoolaccept').length;
    const from = (client: string) => ({ 'x-forwarded-for': client });
    // the node holds the first post: one more from the same client waits, the next is told to retry
    // (whichever of the two came second), while another client behind the same proxy still gets its
    // post checked: a 429 is answered at once, a post waiting its turn only once the node answers
    proxy.hold(['testmempoolaccept']);
    const first = post(calendar, forged(coin, tip, 6), false, from('192.0.2.1'));
    await waitFor('the first post at the node', async () => asked() > 0 || undefined);
    const same = [7, 8].map((n) => post(calendar, forged(coin, tip, n), false, from('192.0.2.1')));
    const busy = await Promise.race(same);
    assert.equal(busy.status, 429, busy.text);
    const other = post(calendar, forged(coin, tip, 9), false, from('198.51.100.1'));
    await Promise.race([other, sleep(2000)]);
    proxy.heal();
    assert.equal((await other).status, 422, 'checked by the node (rule 14), not refused as busy');
    const statuses = (await Promise.all([first, ...same])).map((x) => x.status);
    assert.deepEqual(statuses.sort(), [422, 422, 429]);
  });

  it('after a restart, donations replaced or double-spent before it come back as such; a donation is bumped at most 8 times', async (t) => {
    if (!needs(t)) return;
    const { ltc, calendar, coins, tip } = await donationSetting(t, chain, { fund: false }, 2);
    const [coin, other] = coins as [Coin, Coin];
    const first = buildDonation(donor, { coin, tip, feeRate: 5 });
    assert.equal((await post(calendar, first)).status, 202);
    const bumped = buildDonation(donor, { coin, tip, feeRate: 8 });
    assert.equal((await post(calendar, bumped)).status, 202);
    const doomed = buildDonation(donor, { coin: other, tip, feeRate: 5 });
    assert.equal((await post(calendar, doomed)).status, 202);
    await ltc.rpc.call('sendrawtransaction', toHex(elsewhere(other, tip)));
    await calendar.restart();
    assert.equal(await stateOf(calendar, txidOf(first)), 'replaced');
    await waitFor(
      'the double-spent donation seen so, without a block',
      async () => (await stateOf(calendar, txidOf(doomed))) === 'conflicted' || undefined,
      15_000,
      calendar.explain,
    );
    assert.equal(await stateOf(calendar, txidOf(bumped)), 'mempool');
    // the bump counted before the restart: 7 more are taken, the next refused
    for (let bump = 2; bump <= 8; bump++) {
      const next = await post(calendar, buildDonation(donor, { coin, tip, feeRate: 8 + 5 * (bump - 1) }));
      assert.equal(next.status, 202, `bump ${bump}: ${next.text}`);
    }
    const ninth = await post(calendar, buildDonation(donor, { coin, tip, feeRate: 48 }));
    assert.equal(ninth.status, 409, ninth.text);
    assert.match(ninth.text, /rule 13 \(bumps\)/);
  });

  it('the first-covered height survives a restart: a donation after a double-spent one waits no longer for it', async (t) => {
    if (!needs(t)) return;
    const { ltc, calendar, coins, tip } = await donationSetting(t, chain, LATE_CYCLES, 2);
    const [a, b] = coins as [Coin, Coin];
    const first = buildDonation(donor, { coin: a, tip, feeRate: 40 });
    const taken = await post(calendar, first);
    assert.equal(taken.status, 202, taken.text);
    const bound = (await ltc.rpc.call<number>('getblockcount')) + SETTINGS.waitBlocks;
    assert.equal(taken.json().defers_own_tx_until, bound);
    await ltc.rpc.call('sendrawtransaction', toHex(elsewhere(a, tip)));
    await mine(ltc, 1, calendar.miner);
    await waitFor(
      'the first donation double-spent',
      async () => ((await stateOf(calendar, txidOf(first))) === 'conflicted' ? true : undefined),
      60_000,
      calendar.explain,
    );
    const second = buildDonation(donor, { coin: b, tip, feeRate: 40 });
    const later = await post(calendar, second);
    assert.equal(later.status, 202, later.text);
    assert.equal(later.json().defers_own_tx_until, bound);
    // kept out of the next blocks, so that it is still waited on after the restart
    await ltc.rpc.call('prioritisetransaction', txidOf(second), 0, -100_000_000);
    await calendar.restart();
    const resumed = await waitFor(
      'the second donation weighed again',
      async () => {
        const res = await fetch(`${calendar.node.url}/external/tx/${txidOf(second)}`).catch(() => undefined);
        if (res?.status !== 200) return undefined;
        return (
          ((await res.json()) as { defers_own_tx_until: number | null }).defers_own_tx_until ?? undefined
        );
      },
      30_000,
      calendar.explain,
    );
    assert.equal(resumed, bound);
  });

  it('takes a donation the node holds already (relayed by the donor, or before a crash took the answer)', async (t) => {
    if (!needs(t)) return;
    const { ltc, calendar, coins, tip } = await donationSetting(t, chain, LATE_CYCLES, 1);
    const raw = buildDonation(donor, { coin: coins[0] as Coin, tip, feeRate: 40 });
    await ltc.rpc.call('sendrawtransaction', toHex(raw));
    const taken = await post(calendar, raw);
    assert.equal(taken.status, 202, taken.text);
    assert.equal(await stateOf(calendar, txidOf(raw)), 'mempool');
  });
});
