/** Real mainnet headers from test/fixtures/bitcoin-headers.json, by height. */
import { readFileSync } from 'node:fs';
import { fromHex } from '../../src/ots/index.js';

const fixture = JSON.parse(
  readFileSync(new URL('../../../test/fixtures/bitcoin-headers.json', import.meta.url), 'utf8'),
) as { main: Record<string, string> };

export const MAINNET_HEADERS: ReadonlyMap<number, Uint8Array> = new Map(
  Object.entries(fixture.main).map(([height, hex]) => [Number(height), fromHex(hex)]),
);

export function mainnetHeader(height: number): Uint8Array {
  const header = MAINNET_HEADERS.get(height);
  if (!header) throw new Error(`no mainnet header ${height} in the fixture`);
  return header;
}

/** A HeaderSource over the fixture: the headers it has from `from` on, stopping at the first gap. */
export async function fixtureSource(from: number, count: number): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (let h = from; h < from + count && MAINNET_HEADERS.has(h); h++) out.push(mainnetHeader(h));
  return out;
}
