/** Prefix queries: every commitment under a prefix, byte for byte what single GETs answer. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { prefixRange } from '../../src/index/commitments-view.js';
import {
  BitcoinBlockHeaderAttestation,
  MerkleTree,
  OpAppend,
  PendingAttestation,
  sha256,
  Timestamp,
  toHex,
} from '../../src/ots/index.js';
import {
  decodePrefixAnswer,
  encodePrefixAnswer,
  PREFIX_ANSWER_CONTENT_TYPE,
} from '../../src/remote/prefix-answer.js';
import { startTestCalendar, TEST_URI } from '../helpers/test-calendar.js';

/**
 * A calendar holding `n` random commitments plus a few at the edges of the byte range; half proved.
 * No random one starts with ab: the prefixes under it hold only the fixed ones, whatever the draw.
 */
async function filled(
  t: Parameters<typeof startTestCalendar>[0],
  n: number,
  prefixLimits?: { minNibbles?: number; maxEntries?: number },
) {
  const test = await startTestCalendar(t, { ...(prefixLimits && { prefixLimits }) });
  const commitments = [
    ...Array.from({ length: n }, () => {
      const commitment = crypto.getRandomValues(new Uint8Array(32));
      if (commitment[0] === 0xab) commitment[0] = 0xaa;
      return commitment;
    }),
    new Uint8Array(32).fill(0xff),
    new Uint8Array(32).fill(0x00),
    Uint8Array.from([0xab, 0xcf, ...new Uint8Array(30)]),
    Uint8Array.from([0xab, 0xd0, ...new Uint8Array(30)]),
  ];
  await Promise.all(commitments.map((c) => test.calendar.commit(c)));
  const proved = Array.from({ length: Math.floor(commitments.length / 2) }, (_, i) => i);
  const leaves = proved.map((n) => sha256(test.calendar.index.commitmentAt(n) as Uint8Array));
  const tip = new Timestamp(new MerkleTree(leaves).root);
  tip.ops.add(new OpAppend(new Uint8Array([7]))).attestations.add(new BitcoinBlockHeaderAttestation(321));
  await test.calendar.addProof(proved, tip);
  return { ...test, hexes: commitments.map(toHex).sort() };
}

describe('GET /timestamps?prefix=', () => {
  it('answers every commitment under the prefix, in order, with the same bytes as GET /timestamp', async (t) => {
    const { app, hexes } = await filled(t, 300);
    for (const prefix of [
      '00',
      'ff',
      'ab',
      'abc',
      'abd',
      'ABC',
      '7',
      hexes[5]?.slice(0, 5) as string,
      hexes[9] as string,
    ]) {
      if (prefix.length < 2) continue;
      const res = await app.inject(`/timestamps?prefix=${prefix}`);
      assert.equal(res.statusCode, 200, prefix);
      assert.equal(res.headers['content-type'], PREFIX_ANSWER_CONTENT_TYPE);
      const entries = decodePrefixAnswer(res.rawPayload);
      const expected = hexes.filter((h) => h.startsWith(prefix.toLowerCase()));
      assert.deepEqual(
        entries.map((e) => toHex(e.commitment)),
        expected,
        prefix,
      );
      for (const entry of entries) {
        const single = await app.inject(`/timestamp/${toHex(entry.commitment)}`);
        if (entry.complete) {
          assert.equal(single.statusCode, 200);
          assert.equal(toHex(entry.timestamp.toBytes()), toHex(single.rawPayload));
        } else {
          assert.equal(single.statusCode, 404);
          assert.deepEqual([...entry.timestamp.attestations].map(String), [
            `PendingAttestation('${TEST_URI}')`,
          ]);
        }
      }
    }
  });

  it('answers an empty list when nothing matches, or the prefix is longer than any commitment', async (t) => {
    const { app, hexes } = await filled(t, 20);
    for (const prefix of [`${hexes[0]}00`, 'abce', 'abcf0001']) {
      const res = await app.inject(`/timestamps?prefix=${prefix}`);
      assert.equal(res.statusCode, 200, prefix);
      assert.deepEqual(decodePrefixAnswer(res.rawPayload), []);
    }
  });

  it('refuses missing, non-hex, too short and too long prefixes with a reason', async (t) => {
    const { app } = await filled(t, 5, { minNibbles: 3 });
    const cases: [string, string][] = [
      ['/timestamps', 'prefix must be hex digits, at most 128'],
      ['/timestamps?prefix=xyz', 'prefix must be hex digits, at most 128'],
      ['/timestamps?prefix=ab%20', 'prefix must be hex digits, at most 128'],
      [`/timestamps?prefix=${'a'.repeat(129)}`, 'prefix must be hex digits, at most 128'],
      ['/timestamps?prefix=', 'prefix must have at least 3 hex digits'],
      ['/timestamps?prefix=ab', 'prefix must have at least 3 hex digits'],
    ];
    for (const [url, text] of cases) {
      const res = await app.inject(url);
      assert.deepEqual([res.statusCode, res.body], [400, text], url);
    }
  });

  it('refuses a prefix with more commitments than the limit, telling the client to lengthen it', async (t) => {
    const { app, hexes } = await filled(t, 200, { minNibbles: 1, maxEntries: 10 });
    // the busiest first hex digit: 204 commitments over 16 digits leave at least 13 under it
    const counts = new Map<string, number>();
    for (const h of hexes) counts.set(h[0] as string, (counts.get(h[0] as string) ?? 0) + 1);
    const busiest = [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] as string;
    const res = await app.inject(`/timestamps?prefix=${busiest}`);
    assert.equal(res.statusCode, 400);
    assert.equal(res.body, 'more than 10 commitments under this prefix; use a longer prefix');
  });

  it('is cached briefly, longer when every entry is final', async (t) => {
    const { app, calendar } = await filled(t, 10);
    // record 0 is among the proved half, ff..ff (record 10) is not
    for (const [commitment, cacheControl] of [
      [toHex(calendar.index.commitmentAt(0) as Uint8Array), 'public, max-age=600'],
      ['f'.repeat(64), 'public, max-age=60'],
    ]) {
      const res = await app.inject(`/timestamps?prefix=${commitment}`);
      assert.equal(decodePrefixAnswer(res.rawPayload).length, 1, commitment);
      assert.equal(res.headers['cache-control'], cacheControl, commitment);
      assert.equal(Number(res.headers['x-otsd-commitments']), 14);
    }
  });

  it('caches an empty answer no longer than a round: a new commitment may appear under it by then', async (t) => {
    for (const [intervalMs, cacheControl] of [
      [10, 'public, max-age=0'],
      [3000, 'public, max-age=3'],
    ] as const) {
      const { app } = await startTestCalendar(t, { aggregator: { intervalMs } });
      const res = await app.inject('/timestamps?prefix=abcd');
      assert.deepEqual(decodePrefixAnswer(res.rawPayload), []);
      assert.equal(res.headers['cache-control'], cacheControl, `round of ${intervalMs} ms`);
    }
  });
});

describe('prefix ranges', () => {
  it('cover exactly the keys under the prefix, carrying past f', () => {
    const hex = (b: Buffer | undefined) => (b ? b.toString('hex') : undefined);
    assert.deepEqual([hex(prefixRange('ab').start), hex(prefixRange('ab').end)], ['ab', 'ac']);
    assert.deepEqual([hex(prefixRange('abc').start), hex(prefixRange('abc').end)], ['abc0', 'abd0']);
    assert.deepEqual([hex(prefixRange('abf').start), hex(prefixRange('abf').end)], ['abf0', 'ac00']);
    assert.deepEqual([hex(prefixRange('ff').start), hex(prefixRange('ff').end)], ['ff', undefined]);
    assert.deepEqual([hex(prefixRange('f').start), hex(prefixRange('f').end)], ['f0', undefined]);
    assert.deepEqual([hex(prefixRange('').start), hex(prefixRange('').end)], ['', undefined]);
  });
});

describe('prefix answer format', () => {
  it('round-trips, and refuses unsorted entries, bad versions, oversized counts and trailing bytes', () => {
    const entry = (hex: string) => {
      const timestamp = new Timestamp(Buffer.from(hex, 'hex'));
      timestamp.attestations.add(new PendingAttestation('x'));
      return { commitment: Buffer.from(hex, 'hex'), complete: false, timestamp };
    };
    const bytes = encodePrefixAnswer([entry('aa'), entry('ab')]);
    assert.deepEqual(
      decodePrefixAnswer(bytes).map((e) => toHex(e.commitment)),
      ['aa', 'ab'],
    );
    assert.throws(
      () => decodePrefixAnswer(encodePrefixAnswer([entry('ab'), entry('aa')])),
      /ascending order/,
    );
    assert.throws(() => decodePrefixAnswer(Uint8Array.from([2, 0])), /unsupported version 2/);
    assert.throws(() => decodePrefixAnswer(bytes, 1), /2 entries, more than 1/);
    assert.throws(() => decodePrefixAnswer(Uint8Array.from([...bytes, 0])), /Trailing garbage/);
    assert.throws(() => decodePrefixAnswer(bytes.subarray(0, bytes.length - 1)));
  });
});
