/**
 * The cycle check over what masters publish, without servers: a chain of masters that leads back to
 * this calendar within four calendars is a cycle, however the URLs are spelt; one longer, or through a
 * calendar that cannot be reached or publishes nothing (the reference), is not.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CYCLE_SEARCH_DEPTH,
  cycleBack,
  type MasterFacts,
  REFERENCE_CONFIRMATIONS,
  sameCalendar,
} from '../../src/anchoring/master-status.js';

const SELF = 'https://a.example.org';

/** A reader over published lists; a URL absent from `lists` cannot be reached. */
function reader(lists: Record<string, string[]>) {
  const asked: string[] = [];
  const read = async (url: string): Promise<MasterFacts> => {
    asked.push(url);
    const masters = lists[url];
    if (!masters) throw new Error(`${url}: unreachable`);
    return { masters, minConfirmations: REFERENCE_CONFIRMATIONS };
  };
  return { read, asked };
}

const facts = (masters: string[]): MasterFacts => ({ masters, minConfirmations: REFERENCE_CONFIRMATIONS });

describe('the cycle check', () => {
  it('finds a way back within four calendars, however the URLs are spelt', async () => {
    const { read } = reader({
      'https://b.example.org': ['https://c.example.org'],
      'https://c.example.org': ['HTTPS://A.EXAMPLE.ORG:443/'],
    });
    assert.deepEqual(await cycleBack(SELF, 'https://b.example.org', facts(['https://c.example.org']), read), [
      'https://b.example.org',
      'https://c.example.org',
      'HTTPS://A.EXAMPLE.ORG:443/',
    ]);
    assert.deepEqual(await cycleBack(SELF, 'https://b.example.org', facts([`${SELF}/`]), read), [
      'https://b.example.org',
      `${SELF}/`,
    ]);
  });

  it(`stops ${CYCLE_SEARCH_DEPTH} calendars deep, and at calendars it cannot reach or that publish nothing`, async () => {
    const chain = ['b', 'c', 'd', 'e', 'f'].map((n) => `https://${n}.example.org`);
    const lists: Record<string, string[]> = {};
    chain.forEach((url, i) => {
      lists[url] = [chain[i + 1] ?? SELF];
    });
    const deep = reader(lists);
    assert.equal(
      await cycleBack(SELF, chain[0] as string, facts([chain[1] as string]), deep.read),
      undefined,
    );
    assert.ok(!deep.asked.includes(chain[4] as string), 'the fifth calendar is not asked');
    const { read } = reader({ 'https://c.example.org': [] });
    assert.equal(
      await cycleBack(
        SELF,
        'https://b.example.org',
        facts(['https://c.example.org', 'https://gone.example.org']),
        read,
      ),
      undefined,
    );
  });

  it('asks each calendar once, even when lists meet', async () => {
    const { read, asked } = reader({
      'https://c.example.org': ['https://d.example.org'],
      'https://d.example.org': ['https://c.example.org'],
    });
    assert.equal(
      await cycleBack(
        SELF,
        'https://b.example.org',
        facts(['https://c.example.org', 'https://d.example.org']),
        read,
      ),
      undefined,
    );
    assert.deepEqual(asked.sort(), ['https://c.example.org', 'https://d.example.org']);
    assert.ok(sameCalendar('http://x.example.org:80', 'HTTP://X.example.org/'));
    assert.ok(!sameCalendar('http://x.example.org', 'https://x.example.org'));
  });
});
