/**
 * External stamping on a real node (design scenarios E1-E20; litecoind with standardness enforced):
 * donations built and signed as a donor builds them (test/helpers/donation.ts), spending coinbase
 * outputs paid to the donor's key, posted to a calendar over HTTP or sent straight to the node. Blocks
 * are mined on demand, so each deferral ends at a chosen moment; every proof through a donation is
 * verified by python-opentimestamps against the node's headers.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { NETWORKS } from '../../src/bitcoin/network.js';
import { RecordKind } from '../../src/journal/record.js';
import { fromHex, PendingAttestation, parseTransaction, Timestamp, toHex } from '../../src/ots/index.js';
import { runCliAsync } from '../cli/run-cli.js';
import { startCalendarProcess } from '../helpers/calendar-process.js';
import { buildDonation, type Coin, donorKey, payment } from '../helpers/donation.js';
import {
  donationCalendar,
  donationSetting,
  donor,
  donorCoins,
  donorCoinsTo,
  journalKinds,
  mine,
  mineAndProve,
  offeredTip,
  paid,
  post,
  pythonHeights,
  SETTINGS,
  stateOf,
  type TipsJson,
  tipsOf,
  txidOf,
} from '../helpers/external-donations.js';
import { freePort } from '../helpers/free-port.js';
import { allProved, ownTransactionSent } from '../helpers/litecoin-calendar.js';
import { litecoindForFile, litecoindUnavailable, startLitecoind } from '../helpers/litecoind.js';
import { requireTools } from '../helpers/require-tools.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';
import { oracleUnavailable } from '../oracle/python-oracle.js';

const chain = litecoindForFile();
const needs = (t: TestContext) => requireTools(t, litecoindUnavailable(), oracleUnavailable());

describe('external stamping on litecoind', () => {
  it('E1, E12: an unfunded calendar is anchored by donations alone, posted (both output orders) or only mined', async (t) => {
    if (!needs(t)) return;
    const calendar = await donationCalendar(t, chain, { fund: false, metrics: true });
    const { ltc } = calendar;
    const coins = await donorCoins(calendar, 3);
    const fees: number[] = [];
    for (const [i, opReturnFirst] of [false, true].entries()) {
      const commitment = await calendar.postDigest();
      const tip = await offeredTip(calendar);
      const raw = buildDonation(donor, { coin: coins[i] as Coin, tip, feeRate: 5, opReturnFirst });
      const answer = await post(calendar, raw, opReturnFirst);
      assert.equal(answer.status, 202, answer.text);
      assert.equal(answer.json().txid, txidOf(raw));
      assert.equal(answer.json().state, 'mempool');
      fees.push(Number(coins[i]?.value) - paid(raw));
      // the same transaction again: its state, nothing taken twice
      assert.equal((await post(calendar, raw)).status, 200);
      assert.deepEqual(await calendar.mempool(), [txidOf(raw)]);
      assert.deepEqual(
        (await tipsOf(calendar)).tips.at(-1)?.external.map((d) => d.txid),
        [txidOf(raw)],
      );
      const minedAt = await mineAndProve(calendar, [commitment], 'the proof through the donation');
      assert.equal(await stateOf(calendar, txidOf(raw)), 'proven');
      assert.deepEqual(await pythonHeights(calendar, [commitment]), [[minedAt]]);
    }
    // E12: a conforming donation sent to the node only, never posted, is found in its block
    const commitment = await calendar.postDigest();
    const tip = await offeredTip(calendar);
    const raw = buildDonation(donor, { coin: coins[2] as Coin, tip, feeRate: 3 });
    await ltc.rpc.call('sendrawtransaction', toHex(raw));
    const minedAt = await mineAndProve(calendar, [commitment], 'the proof through the mined donation');
    assert.deepEqual(await pythonHeights(calendar, [commitment]), [[minedAt]]);
    assert.equal(await stateOf(calendar, txidOf(raw)), 'proven');
    const kinds = await journalKinds(calendar);
    assert.equal(kinds.filter((k) => k === RecordKind.Donation).length, 2);
    assert.equal(kinds.filter((k) => k === RecordKind.Stamp).length, 0);
    const status = (await (
      await fetch(calendar.node.url, { headers: { accept: 'application/json' } })
    ).json()) as {
      external: { donations: Record<string, number>; fees_saved_sats: number };
    };
    assert.equal(status.external.donations.proven, 3);
    // a donation only seen in a block has no known fee
    assert.equal(status.external.fees_saved_sats, (fees[0] ?? 0) + (fees[1] ?? 0));
    const metrics = await (await fetch(calendar.node.metricsUrl as string)).text();
    assert.match(metrics, /^otsd_external_donations\{state="proven"\} 3$/m);
    const summary = await runCliAsync(['status', '--url', calendar.node.url]);
    assert.match(
      summary.stdout,
      /^external +\d+ tip\(s\) offered; donations proven 3; \d+ sat of fees paid by donors$/m,
    );
  });

  it('E13, E14: a mined transaction breaking a rule is ignored; of two donations in one block the smaller proves', async (t) => {
    if (!needs(t)) return;
    const { ltc, calendar, coins, commitment, tip } = await donationSetting(t, chain, { fund: false }, 4);
    const [a, b, c, d] = coins as [Coin, Coin, Coin, Coin];
    // E13: two inputs, sent to the node only: it commits to the tip, but no proof goes through it
    const twoInputs = buildDonation(donor, { coin: a, tip, extraInputs: [b], feeRate: 3 });
    await ltc.rpc.call('sendrawtransaction', toHex(twoInputs));
    await mine(ltc, 1, calendar.miner);
    const height = await ltc.rpc.call<number>('getblockcount');
    await waitFor('the calendar at the tip', () =>
      calendar.node.anchoring?.status().chainHeight === height ? true : undefined,
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(await allProved(calendar.node, [commitment]), undefined);
    // E14: two donations to the same tip, mined together: the one with fewer bytes (P2WPKH change) proves
    const smaller = buildDonation(donor, { coin: c, tip, feeRate: 3, change: 'p2wpkh' });
    const larger = buildDonation(donor, { coin: d, tip, feeRate: 3, change: 'p2tr' });
    assert.equal((await post(calendar, larger)).status, 202);
    assert.equal((await post(calendar, smaller)).status, 202);
    const minedAt = await mineAndProve(calendar, [commitment]);
    assert.equal(await stateOf(calendar, txidOf(smaller)), 'proven');
    assert.equal(await stateOf(calendar, txidOf(larger)), 'superseded');
    assert.equal((await journalKinds(calendar)).filter((k) => k === RecordKind.Proof).length, 1);
    assert.deepEqual(await pythonHeights(calendar, [commitment]), [[minedAt]]);
  });

  it('E16: a donation whose block leaves the chain before it is deep enough proves through the block that holds it next', async (t) => {
    if (!needs(t)) return;
    const { ltc, calendar, coins, commitment, tip } = await donationSetting(
      t,
      chain,
      { fund: false, minConfirmations: 2 },
      1,
    );
    const raw = buildDonation(donor, { coin: coins[0] as Coin, tip, feeRate: 3 });
    assert.equal((await post(calendar, raw)).status, 202);
    const [block] = await mine(ltc, 1, calendar.miner);
    const minedState = async () => (await stateOf(calendar, txidOf(raw))) === 'mined' || undefined;
    await waitFor('the donation mined', minedState, 30_000, calendar.explain);
    await ltc.rpc.call('invalidateblock', block);
    const back = async () => (await stateOf(calendar, txidOf(raw))) === 'mempool' || undefined;
    await waitFor('the donation back in the mempool', back, 30_000, calendar.explain);
    assert.equal(await allProved(calendar.node, [commitment]), undefined);
    // other blocks at those heights (another coinbase address: not the invalid block again)
    const minedAt = (await ltc.rpc.call<number>('getblockcount')) + 1;
    await mine(ltc, 2, payment(donor, 'p2wpkh').address as string);
    await waitFor('the proof', () => allProved(calendar.node, [commitment]), 30_000, calendar.explain);
    assert.deepEqual(await pythonHeights(calendar, [commitment]), [[minedAt]]);
    assert.equal(await stateOf(calendar, txidOf(raw)), 'proven');
  });

  it('E15: a donation for an older tip of the own transaction proves its commitments; the own transaction the rest', async (t) => {
    if (!needs(t)) return;
    const calendar = await donationCalendar(t, chain);
    const { ltc } = calendar;
    const [coin] = (await donorCoins(calendar, 1)) as [Coin];
    const older = await calendar.postDigest();
    const own = await ownTransactionSent(calendar);
    const tip = await offeredTip(calendar);
    assert.equal((await tipsOf(calendar)).tips.find((x) => x.tip === toHex(tip))?.own_tx?.txid, own);
    // every version of the own transaction spends what its first does
    const ownInput = (
      await ltc.rpc.call<{ vin: { txid: string; vout: number }[] }>('getrawtransaction', own, true)
    ).vin[0];
    // the own transaction's first version stays out of blocks (its fee counts as nothing to the miner)
    await ltc.rpc.call('prioritisetransaction', own, 0, -100_000_000);
    const raw = buildDonation(donor, { coin, tip, feeRate: 3 });
    assert.equal((await post(calendar, raw)).status, 202);
    const newer = await calendar.postDigest();
    const donationAt = await mineAndProve(calendar, [older], 'the proof through the donation');
    // what is left goes into a replacement of the own transaction
    await waitFor(
      'a replacement over the newer commitment',
      async () => (await calendar.mempool()).find((txid) => txid !== own),
      30_000,
      calendar.explain,
    );
    const ownAt = donationAt + 1;
    await mineAndProve(calendar, [newer], 'the proof through the own transaction');
    assert.deepEqual(await pythonHeights(calendar, [older, newer]), [[donationAt], [ownAt]]);
    assert.equal(await stateOf(calendar, txidOf(raw)), 'proven');
    // a replacement is in that block (the calendar may have bumped it again as blocks came)
    const block = await ltc.rpc.call<{ tx: { txid: string; vin: { txid?: string; vout?: number }[] }[] }>(
      'getblock',
      await ltc.rpc.call('getblockhash', ownAt),
      2,
    );
    const mined = block.tx.find((tx) =>
      tx.vin.some((input) => input.txid === ownInput?.txid && input.vout === ownInput?.vout),
    );
    assert.ok(mined && mined.txid !== own, 'a replacement of the own transaction mined');
  });

  it('E17: kill -9 after the 202: the restarted calendar follows the donation from its record and proves through it', async (t) => {
    if (!needs(t)) return;
    const ltc = await chain();
    const dataDir = tempDir(t);
    const port = await freePort();
    const flags = [
      ...['--bitcoin-rpc', ltc.rpcUrl, '--bitcoin-network', 'litecoin-regtest', '--min-confirmations', '1'],
      ...['--bitcoin-scan-from', String(await ltc.rpc.call<number>('getblockcount')), '--external'],
      ...['--round-interval', '50', '--log-level', 'warn'],
    ];
    let calendar = await startCalendarProcess(dataDir, flags, port);
    t.after(() => calendar.stop());
    const digest = crypto.getRandomValues(new Uint8Array(32));
    const submitted = await fetch(`${calendar.url}/digest`, { method: 'POST', body: digest });
    const commitment = Timestamp.fromBytes(
      digest,
      new Uint8Array(await submitted.arrayBuffer()),
    ).shortestPathTo((a) => a instanceof PendingAttestation)?.msg as Uint8Array;
    const tip = await waitFor(
      'a tip offered',
      async () =>
        ((await (await fetch(`${calendar.url}/external/tips`)).json()) as TipsJson).tips.at(-1)?.tip,
      30_000,
      calendar.output,
    );
    const miner = payment(donorKey(new Uint8Array(32).fill(8), NETWORKS['litecoin-regtest']), 'p2wpkh');
    const [coin] = await donorCoinsTo(ltc, 1, miner.address as string);
    const raw = buildDonation(donor, { coin: coin as Coin, tip: fromHex(tip), feeRate: 3 });
    const taken = await fetch(`${calendar.url}/external/tx`, { method: 'POST', body: raw });
    assert.equal(taken.status, 202, await taken.text());
    assert.equal(await calendar.stop('SIGKILL'), 'SIGKILL');
    calendar = await startCalendarProcess(dataDir, flags, port);
    await mine(ltc, 1, miner.address as string);
    await waitFor(
      'the proof through the donation',
      async () =>
        (await fetch(`${calendar.url}/timestamp/${toHex(commitment)}`)).status === 200 ? true : undefined,
      30_000,
      calendar.output,
    );
    const state = (await (await fetch(`${calendar.url}/external/tx/${txidOf(raw)}`)).json()) as {
      state: string;
    };
    assert.equal(state.state, 'proven');
  });

  it('a donor with a standard wallet: the recipe of docs/external-stamping.md (walletcreatefundedpsbt) makes a donation taken and proven', async (t) => {
    if (!needs(t)) return;
    const ltc = await startLitecoind(t, { wallet: true });
    const calendar = await donationCalendar(t, chain, { ltc, fund: false });
    await ltc.rpc.call('createwallet', 'donor');
    const address = await ltc.rpc.call<string>('getnewaddress', '', 'bech32');
    await mine(ltc, 101, address);
    const commitment = await calendar.postDigest();
    const tip = await offeredTip(calendar);
    const [coin] = await ltc.rpc.call<{ txid: string; vout: number }[]>('listunspent');
    const funded = await ltc.rpc.call<{ psbt: string }>(
      'walletcreatefundedpsbt',
      [{ txid: coin?.txid, vout: coin?.vout }],
      [{ data: toHex(tip) }],
      0,
      { add_inputs: false, change_type: 'bech32', fee_rate: 5, replaceable: true },
    );
    const signed = await ltc.rpc.call<{ psbt: string }>('walletprocesspsbt', funded.psbt);
    const { hex } = await ltc.rpc.call<{ hex: string }>('finalizepsbt', signed.psbt);
    const answer = await post(calendar, fromHex(hex), true);
    assert.equal(answer.status, 202, answer.text);
    await mineAndProve(calendar, [commitment], 'the proof');
  });

  it('E2-E8, E18: every broken rule is refused naming it, and nothing is journaled or relayed', async (t) => {
    if (!needs(t)) return;
    const calendar = await donationCalendar(t, chain, {
      fund: false,
      external: { ...SETTINGS, maxPerTip: 1, minFeeRate: 2 },
    });
    const [coin, other] = (await donorCoins(calendar, 2)) as [Coin, Coin];
    const [legacy] = (await donorCoins(calendar, 1, 'p2pkh')) as [Coin];
    await calendar.postDigest();
    const tip = await offeredTip(calendar);
    const records = (await journalKinds(calendar)).length;
    const unconfirmed: Coin = {
      txid: parseTransaction(buildDonation(donor, { coin, tip })).txid,
      index: 0,
      value: 1000n,
      kind: 'p2wpkh',
    };
    const cases: [string, Uint8Array, number, RegExp][] = [
      ['not a transaction', Uint8Array.from([1, 2, 3]), 400, /rule 1 \(not-a-transaction\)/],
      [
        'two inputs',
        buildDonation(donor, { coin, tip, extraInputs: [other as Coin] }),
        422,
        /rule 3 \(inputs\)/,
      ],
      ['a P2PKH input', buildDonation(donor, { coin: legacy as Coin, tip }), 422, /rule 4/],
      ['version 4', buildDonation(donor, { coin, tip, version: 4 }), 422, /rule 2 \(version\)/],
      [
        'a future lock time',
        buildDonation(donor, { coin, tip, lockTime: 100_000 }),
        422,
        /rule 6 \(lock-time\)/,
      ],
      ['a relative lock', buildDonation(donor, { coin, tip, sequence: 5 }), 422, /rule 5 \(sequence\)/],
      ['P2PKH change', buildDonation(donor, { coin, tip, change: 'p2pkh' }), 422, /rule 8 \(change\)/],
      [
        'a tip not offered',
        buildDonation(donor, { coin, tip: new Uint8Array(32).fill(1) }),
        404,
        /rule 9 \(tip-not-offered\)/,
      ],
      ['an unconfirmed input', buildDonation(donor, { coin: unconfirmed, tip, fee: 500n }), 422, /rule 10/],
      [
        'a fee rate below the minimum',
        buildDonation(donor, { coin, tip, feeRate: 1 }),
        422,
        /rule 11 \(fee-rate\)/,
      ],
      ['too large', new Uint8Array(5000), 413, /rule 1 \(too-large\)/],
    ];
    for (const [what, raw, status, text] of cases) {
      const answer = await post(calendar, raw);
      assert.equal(answer.status, status, `${what}: ${answer.text}`);
      assert.match(answer.text, text, what);
    }
    assert.equal((await journalKinds(calendar)).length, records, 'nothing journaled');
    assert.deepEqual(await calendar.mempool(), [], 'nothing relayed');
    // E18: the tip's cap (1 here): a second donor is told to bump the first
    assert.equal((await post(calendar, buildDonation(donor, { coin, tip, feeRate: 3 }))).status, 202);
    const full = await post(calendar, buildDonation(donor, { coin: other as Coin, tip, feeRate: 9 }));
    assert.equal(full.status, 409, full.text);
    assert.match(full.text, /rule 13 \(tip-full\)/);
  });

  it('E1, E9, E10: the own transaction waits on a donation at its fee rate, and goes out once it is double-spent', async (t) => {
    if (!needs(t)) return;
    // the first stamp cycle 10-30 s away: the donation comes before the own transaction is due
    const { ltc, calendar, coins, commitment, tip } = await donationSetting(
      t,
      chain,
      { stampIntervalMs: 20_000 },
      1,
    );
    const [coin] = coins as [Coin];
    const first = buildDonation(donor, { coin, tip, feeRate: 40 });
    const taken = await post(calendar, first);
    assert.equal(taken.status, 202, taken.text);
    const height = await ltc.rpc.call<number>('getblockcount');
    assert.equal(taken.json().defers_own_tx_until, height + SETTINGS.waitBlocks);
    // E10: the donor bumps their own donation (same coin, same tip): taken, and the first replaced
    const bumped = buildDonation(donor, { coin, tip, feeRate: 60 });
    const replaced = await post(calendar, bumped);
    assert.equal(replaced.status, 202, replaced.text);
    assert.equal(replaced.json().defers_own_tx_until, height + SETTINGS.waitBlocks);
    assert.equal(await stateOf(calendar, txidOf(first)), 'replaced');
    // a stamp cycle passes: the own transaction waits
    await new Promise((resolve) => setTimeout(resolve, 31_000));
    assert.deepEqual(await calendar.mempool(), [txidOf(bumped)], calendar.explain());
    // E9: the donor spends the coin elsewhere, without the OP_RETURN; mined
    const elsewhere = buildDonation(donor, {
      coin,
      tip,
      feeRate: 100,
      opReturnScript: Uint8Array.from([0x6a, 0x01, 0x00]),
    });
    await ltc.rpc.call('sendrawtransaction', toHex(elsewhere));
    await mine(ltc, 1, calendar.miner);
    await waitFor(
      'the donation conflicted',
      async () => (await stateOf(calendar, txidOf(bumped))) === 'conflicted' || undefined,
      30_000,
      calendar.explain,
    );
    const own = await ownTransactionSent(calendar);
    const ownTip = (await tipsOf(calendar)).tips.find((x) => x.own_tx?.txid === own);
    assert.ok(ownTip, 'the own transaction carries an offered tip');
    await mineAndProve(calendar, [commitment], 'the proof through the own transaction');
  });

  it('E17: after a restart, the own transaction still waits on a donation at its fee rate, and the donation proves', async (t) => {
    if (!needs(t)) return;
    // the first stamp cycle 10-30 s after each start: the own transaction is due within the wait below
    const { calendar, coins, commitment, tip } = await donationSetting(
      t,
      chain,
      { stampIntervalMs: 20_000 },
      1,
    );
    const raw = buildDonation(donor, { coin: coins[0] as Coin, tip, feeRate: 40 });
    const taken = await post(calendar, raw);
    assert.equal(taken.status, 202, taken.text);
    assert.notEqual(taken.json().defers_own_tx_until, null);
    await calendar.restart();
    await new Promise((resolve) => setTimeout(resolve, 31_000));
    assert.deepEqual(await calendar.mempool(), [txidOf(raw)], calendar.explain());
    await mineAndProve(calendar, [commitment], 'the proof through the donation');
    assert.equal((await journalKinds(calendar)).filter((k) => k === RecordKind.Stamp).length, 0);
  });

  it('E11: a donation below the own fee rate defers nothing; a donation taken is followed again after a restart', async (t) => {
    if (!needs(t)) return;
    const { calendar, coins, commitment, tip } = await donationSetting(t, chain, { fund: false }, 1);
    const [coin] = coins as [Coin];
    const raw = buildDonation(donor, { coin, tip, feeRate: 2 });
    const taken = await post(calendar, raw);
    assert.equal(taken.status, 202, taken.text);
    // E11: 2 sat/vB is below the calendar's 20: the own transaction would not wait on it
    assert.equal(taken.json().defers_own_tx_until, null);
    // E17: the donation record brings it back after a restart
    await calendar.restart();
    await mineAndProve(calendar, [commitment], 'the proof after the restart');
    assert.equal(await stateOf(calendar, txidOf(raw)), 'proven', calendar.explain());
  });
});
