/**
 * Every entry of every sub-database of an index, read straight from its LMDB environment: the names
 * come from LMDB's own list, not from otsd's code, so a database otsd forgets to clear shows up too.
 * The index must be closed.
 */
import { join } from 'node:path';
import { CalendarIndex } from '../../src/index/calendar-index.js';
import { prefixEntry } from '../../src/index/prefix-entry.js';
import { openEveryDatabase } from '../../src/index/read-pages.js';

export async function indexContents(path: string): Promise<Map<string, string[]>> {
  const { root, databases } = openEveryDatabase(path);
  try {
    const contents = new Map<string, string[]>();
    for (const [name, db] of databases) {
      contents.set(
        name,
        [...db.getRange()].map(({ key, value }) => `${key.toString('hex')}=${value.toString('hex')}`),
      );
    }
    return contents;
  } finally {
    await root.close();
  }
}

/**
 * Where two indexes' contents differ, in one short line (the first difference per database), or
 * undefined when they hold the same. Short on purpose: assert's own diff of two large maps takes
 * minutes, during which no test timeout can fire.
 */
export function indexDifference(
  actual: Map<string, string[]>,
  expected: Map<string, string[]>,
  ignore: readonly string[] = [],
): string | undefined {
  const names = new Set([...actual.keys(), ...expected.keys()].filter((n) => !ignore.includes(n)));
  const differences: string[] = [];
  for (const name of [...names].sort()) {
    const a = actual.get(name) ?? [];
    const e = expected.get(name) ?? [];
    const at = a.findIndex((entry, i) => entry !== e[i]);
    if (at === -1 && a.length === e.length) continue;
    const i = at === -1 ? Math.min(a.length, e.length) : at;
    differences.push(
      `${name}: ${a.length} entries, expected ${e.length}; entry ${i} is ${a[i]?.slice(0, 80) ?? 'missing'}, expected ${e[i]?.slice(0, 80) ?? 'missing'}`,
    );
  }
  return differences.length === 0 ? undefined : differences.join('\n');
}

/**
 * The bytes the index at `dataDir`/index stores for `commitment` (the rest of its prefix and its record
 * number: what a test damages to make the index lose it). The index must be closed.
 */
export async function commitmentEntry(dataDir: string, commitment: Uint8Array): Promise<Buffer> {
  const index = CalendarIndex.open(join(dataDir, 'index'), join(dataDir, 'journal'));
  try {
    const found = index.lookup(commitment);
    if (found.state === 'unknown') throw new Error('commitmentEntry: the index does not hold it');
    return prefixEntry(commitment, found.record).value;
  } finally {
    await index.close();
  }
}
