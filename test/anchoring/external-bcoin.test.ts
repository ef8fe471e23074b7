/**
 * External stamping on bcoin (design scenario E19): bcoin has no testmempoolaccept, and answers
 * sendrawtransaction with the txid even for a transaction its mempool refuses (here a replacement:
 * the embedded bcoin replaces nothing). A donation it drops is refused (rule 14), not taken.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { bcoinChainDir, RPC_URL_FILE } from '../../src/bitcoin/embedded-bcoin.js';
import { NETWORKS } from '../../src/bitcoin/network.js';
import { RpcClient } from '../../src/bitcoin/rpc-client.js';
import { fromHex, reverseBytes } from '../../src/ots/index.js';
import { startCalendarProcess } from '../helpers/calendar-process.js';
import { buildDonation, type Coin, donorKey, payment } from '../helpers/donation.js';
import { embeddedBcoinMissing, requireTools } from '../helpers/require-tools.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';

const donor = donorKey(new Uint8Array(32).fill(9), NETWORKS['bcoin-regtest']);

describe('external stamping on bcoin', () => {
  it('E19: a donation bcoin drops without a word is refused (rule 14), nothing journaled; one it holds is taken', async (t) => {
    if (!requireTools(t, embeddedBcoinMissing())) return;
    const dataDir = tempDir(t);
    // blocks only when the test mines them: the tip stays pending while donations are posted
    const calendar = await startCalendarProcess(dataDir, [
      ...['--embedded-regtest', '--block-interval', '3600', '--stamp-interval', '1'],
      ...['--round-interval', '50', '--log-level', 'warn', '--external', '--external-min-fee-rate', '0'],
    ]);
    t.after(() => calendar.stop());
    const rpc = new RpcClient({
      url: readFileSync(join(bcoinChainDir(dataDir), RPC_URL_FILE), 'utf8').trim(),
      timeoutMs: 10_000,
    });
    const [coinbaseBlock] = await rpc.call<string[]>(
      'generatetoaddress',
      1,
      payment(donor, 'p2wpkh').address as string,
    );
    await rpc.call('generatetoaddress', 100, payment(donor, 'p2wpkh').address as string);
    const block = await rpc.call<{ tx: string[] }>('getblock', coinbaseBlock, true);
    const coinbase = block.tx[0] as string;
    const out = await rpc.call<{ value: number }>('gettxout', coinbase, 0, false);
    const coin: Coin = {
      txid: reverseBytes(fromHex(coinbase)),
      index: 0,
      value: BigInt(Math.round(out.value * 1e8)),
      kind: 'p2wpkh',
    };
    const digest = await fetch(`${calendar.url}/digest`, {
      method: 'POST',
      body: crypto.getRandomValues(new Uint8Array(32)),
    });
    assert.equal(digest.status, 200);
    const tip = await waitFor(
      'a tip offered',
      async () => {
        const tips = (await (await fetch(`${calendar.url}/external/tips`)).json()) as {
          tips: { tip: string }[];
        };
        return tips.tips.at(-1)?.tip;
      },
      60_000,
      calendar.output,
    );
    const post = async (raw: Uint8Array) => {
      const res = await fetch(`${calendar.url}/external/tx`, { method: 'POST', body: raw });
      return { status: res.status, text: await res.text() };
    };
    const held = buildDonation(donor, { coin, tip: fromHex(tip), feeRate: 5 });
    const taken = await post(held);
    assert.equal(taken.status, 202, taken.text);
    const txid = (JSON.parse(taken.text) as { txid: string }).txid;
    assert.ok((await rpc.call<string[]>('getrawmempool')).includes(txid), 'held by bcoin');
    // the donor's bump: the calendar's rules take it (rule 12), but bcoin (no replacement by fee)
    // answers with the txid and keeps nothing
    const records = async () =>
      (
        (await (await fetch(calendar.url, { headers: { accept: 'application/json' } })).json()) as {
          journal: { records: number };
        }
      ).journal.records;
    const before = await records();
    const bump = await post(buildDonation(donor, { coin, tip: fromHex(tip), feeRate: 10 }));
    assert.equal(bump.status, 422, bump.text);
    assert.match(bump.text, /rule 14 \(node-refused\): the node dropped it/);
    assert.equal(await records(), before, 'nothing journaled for a donation the node dropped');
    const state = (await (await fetch(`${calendar.url}/external/tx/${txid}`)).json()) as { state: string };
    assert.equal(state.state, 'mempool', 'the first donation is still the one followed');
  });
});
