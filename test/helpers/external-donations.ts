/**
 * What the external-stamping tests on litecoind share: the donor's key and coins (mature coinbase
 * outputs paid to it), the calendar's offered tips and posts to it, a donation's state, and a calendar
 * taking donations on a test file's chain.
 */
import type { TestContext } from 'node:test';
import { DEFAULT_EXTERNAL_SETTINGS } from '../../src/anchoring/external-stamping.js';
import { NETWORKS } from '../../src/bitcoin/network.js';
import { fromHex, parseTransaction, reverseBytes, toHex } from '../../src/ots/index.js';
import { runPython } from '../clients/run-client.js';
import { type Coin, type CoinKind, donorKey, payment } from './donation.js';
import { allProved, type LitecoinCalendar, startLitecoinCalendar } from './litecoin-calendar.js';
import type { Litecoind } from './litecoind.js';
import { waitFor } from './wait-for.js';

export const donor = donorKey(new Uint8Array(32).fill(9), NETWORKS['litecoin-regtest']);

export const SETTINGS = DEFAULT_EXTERNAL_SETTINGS;

export const mine = (ltc: Litecoind, blocks: number, to: string) =>
  ltc.rpc.call<string[]>('generatetoaddress', blocks, to);

/** Mines one block and waits until `commitments` are proved (through it); that block's height. */
export async function mineAndProve(
  calendar: LitecoinCalendar,
  commitments: string[],
  what = 'the proof',
): Promise<number> {
  const at = (await calendar.ltc.rpc.call<number>('getblockcount')) + 1;
  await mine(calendar.ltc, 1, calendar.miner);
  await waitFor(what, () => allProved(calendar.node, commitments), 30_000, calendar.explain);
  return at;
}

/** Mature coinbase outputs paying the donor's key (of `kind`), one per coin asked for. */
export async function donorCoins(
  calendar: LitecoinCalendar,
  count: number,
  kind: CoinKind = 'p2wpkh',
): Promise<Coin[]> {
  return donorCoinsTo(calendar.ltc, count, calendar.miner, kind);
}

/** The same, the blocks that mature them mined to `miner`. */
export async function donorCoinsTo(
  ltc: Litecoind,
  count: number,
  miner: string,
  kind: CoinKind = 'p2wpkh',
): Promise<Coin[]> {
  const hashes = await mine(ltc, count, payment(donor, kind).address as string);
  await mine(ltc, 100, miner);
  const coins: Coin[] = [];
  for (const hash of hashes) {
    const block = await ltc.rpc.call<{ tx: { txid: string; vout: { value: number }[] }[] }>(
      'getblock',
      hash,
      2,
    );
    const coinbase = block.tx[0] as { txid: string; vout: { value: number }[] };
    const value = BigInt(Math.round((coinbase.vout[0]?.value ?? 0) * 1e8));
    coins.push({ txid: reverseBytes(fromHex(coinbase.txid)), index: 0, value, kind });
  }
  return coins;
}

export interface TipsJson {
  height: number;
  tips: {
    tip: string;
    commitments: number;
    own_tx: { txid: string } | null;
    own_tx_not_before: number | null;
    external: { txid: string; state: string }[];
  }[];
}

export const tipsOf = async (calendar: LitecoinCalendar): Promise<TipsJson> =>
  (await (await fetch(`${calendar.node.url}/external/tips`)).json()) as TipsJson;

/** The tips offeredTip returned: each is returned once. */
const returned = new Set<string>();

/** Waits for a new offered tip covering every commitment pending now, and returns it. */
export async function offeredTip(calendar: LitecoinCalendar): Promise<Uint8Array> {
  const pending = calendar.node.calendar.index.pendingCount;
  const tip = await waitFor(
    `a tip over the ${pending} pending commitments`,
    async () =>
      (await tipsOf(calendar)).tips.find((x) => x.commitments === pending && !returned.has(x.tip))?.tip,
    30_000,
    calendar.explain,
  );
  returned.add(tip);
  return fromHex(tip);
}

export async function post(
  calendar: LitecoinCalendar,
  raw: Uint8Array,
  asHex = false,
  headers: Record<string, string> = {},
) {
  const res = await fetch(`${calendar.node.url}/external/tx`, {
    method: 'POST',
    body: asHex ? toHex(raw) : raw,
    headers,
  });
  const text = await res.text();
  return { status: res.status, text, json: () => JSON.parse(text) as Record<string, unknown> };
}

/** Satoshis a transaction's outputs pay. */
export const paid = (raw: Uint8Array) =>
  Number(parseTransaction(raw).outputs.reduce((sum, o) => sum + o.value, 0n));

export const txidOf = (raw: Uint8Array) => toHex(reverseBytes(parseTransaction(raw).txid));

export async function journalKinds(calendar: LitecoinCalendar): Promise<number[]> {
  const kinds: number[] = [];
  for await (const record of calendar.node.calendar.journal.read()) kinds.push(record.kind);
  return kinds;
}

/** The heights python-opentimestamps verified each commitment's proof at, against the node's headers. */
export async function pythonHeights(calendar: LitecoinCalendar, commitments: string[]): Promise<number[][]> {
  const verified = (await runPython('python_verify.py', [
    calendar.node.url,
    calendar.ltc.rpcUrl,
    ...commitments,
  ])) as { verified: { height: number }[] }[];
  return verified.map((v) => v.verified.map((x) => x.height));
}

export const stateOf = async (calendar: LitecoinCalendar, txid: string) =>
  ((await (await fetch(`${calendar.node.url}/external/tx/${txid}`)).json()) as { state: string }).state;

/** A calendar taking donations (confirmed once mined), on the test file's litecoind unless told another. */
export async function donationCalendar(
  t: TestContext,
  chain: () => Promise<Litecoind>,
  options: Parameters<typeof startLitecoinCalendar>[1] = {},
): Promise<LitecoinCalendar> {
  return startLitecoinCalendar(t, {
    minConfirmations: 1,
    external: SETTINGS,
    ...options,
    ltc: options.ltc ?? (await chain()),
  });
}

/** A calendar taking donations, `coins` donor coins, one digest posted and the tip offered over it. */
export async function donationSetting(
  t: TestContext,
  chain: () => Promise<Litecoind>,
  options: Parameters<typeof startLitecoinCalendar>[1],
  coins: number,
) {
  const calendar = await donationCalendar(t, chain, options);
  const donorCoinList = await donorCoins(calendar, coins);
  const commitment = await calendar.postDigest();
  const tip = await offeredTip(calendar);
  return { ltc: calendar.ltc, calendar, coins: donorCoinList, commitment, tip };
}
