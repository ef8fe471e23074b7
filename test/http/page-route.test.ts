/**
 * `GET /` for browsers: the page, with a Content-Security-Policy that lets it load nothing but its own
 * script (content-hashed, cached for a year) and its inline style (by hash); clients that ask for JSON
 * still get the status there. What the page says on each role comes from the node's status.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PAGE_CSP, pageFacts } from '../../src/http/page-route.js';
import type { NodeStatus } from '../../src/http/status-route.js';
import { stampNote, trustNote, upgradeNote } from '../../src/web/facts.js';
import { requireTools } from '../helpers/require-tools.js';
import { startTestCalendar, TEST_URI } from '../helpers/test-calendar.js';
import { pageBundleMissing } from '../web/page-bundle.js';

const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
const BUNDLE = fileURLToPath(new URL('../../src/web/page.js', import.meta.url));
const sha256 = (data: string | Uint8Array, encoding: 'hex' | 'base64') =>
  createHash('sha256').update(data).digest(encoding);

describe('GET / for browsers: the page', () => {
  it('is the page, allowed by its CSP to load only its own script and style; JSON clients get the status', async (t) => {
    if (!requireTools(t, pageBundleMissing())) return;
    const { app } = await startTestCalendar(t);
    for (const accept of [BROWSER_ACCEPT, undefined, '*/*', 'application/vnd.opentimestamps.v1']) {
      const page = await app.inject({ url: '/', headers: accept === undefined ? {} : { accept } });
      assert.equal(page.statusCode, 200);
      assert.match(String(page.headers['content-type']), /^text\/html/);
      assert.equal(page.headers['content-security-policy'], PAGE_CSP);
      assert.equal(page.headers.vary, 'Accept');
      assert.equal(page.headers['cache-control'], 'public, max-age=5');
      assert.match(page.body, /<h2 id="stamp-title">Stamp files<\/h2>/);
    }
    assert.match(
      PAGE_CSP,
      /^default-src 'none'; script-src 'self'; style-src 'sha256-[^']+'; connect-src 'self';/,
    );

    const html = (await app.inject({ url: '/', headers: { accept: BROWSER_ACCEPT } })).body;
    // nothing from elsewhere: the only absolute URL is a link for people to follow
    assert.deepEqual(html.match(/(?:src|href)="[a-z]+:[^"]*"/g), ['href="https://opentimestamps.org"']);
    // the inline style is the one the policy allows (browsers hash exactly the element's text)
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1] as string;
    assert.ok(PAGE_CSP.includes(`'sha256-${sha256(style, 'base64')}'`));
    // the script: named by its content, checked by the browser against its hash, cached for a year
    const bundle = readFileSync(BUNDLE);
    const script = /<script type="module" src="(assets\/page-([0-9a-f]{16})\.js)" integrity="([^"]+)">/.exec(
      html,
    );
    assert.ok(script, 'script tag');
    assert.equal(script[2], sha256(bundle, 'hex').slice(0, 16));
    assert.equal(script[3], `sha256-${sha256(bundle, 'base64')}`);
    const served = await app.inject(`/${script[1]}`);
    assert.equal(served.statusCode, 200);
    assert.match(String(served.headers['content-type']), /^text\/javascript/);
    assert.equal(served.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.deepEqual(served.rawPayload, bundle);
    const stale = await app.inject('/assets/page-0000000000000000.js');
    assert.deepEqual([stale.statusCode, stale.body], [404, 'Not found']);
    // what the script is told: this calendar, which stamps and serves proofs, and has no headers
    const facts = JSON.parse(
      /<script type="application\/json" id="page-facts">(.*)<\/script>/.exec(html)?.[1] as string,
    );
    assert.deepEqual(facts, {
      role: 'calendar',
      uri: TEST_URI,
      upstreams: [],
      stamping: true,
      proofs: true,
      headers: 'none',
    });
    assert.match(html, /<a href="status">status<\/a>/);

    // JSON for clients that ask for it, as the reference answers them
    const json = await app.inject({ url: '/', headers: { accept: 'application/json' } });
    assert.match(String(json.headers['content-type']), /^application\/json/);
    assert.equal((JSON.parse(json.body) as { uri: string }).uri, TEST_URI);
  });

  it('says on a mirror and an aggregator what stamping does there and what verification trusts', () => {
    const base: NodeStatus = {
      role: 'mirror',
      version: 'test',
      uptimeSeconds: 1,
      waitingDigests: 0,
      roundIntervalMs: 1000,
      lastMinute: { rounds: 0, digests: 0 },
      totals: { rounds: 0, digests: 0 },
      warnings: [],
      calendar: {
        uri: 'http://mirror.example',
        journal: { records: 0, chainHash: '' },
        pendingCommitments: 0,
        commitments: 0,
        prefixQueries: { minNibbles: 2, maxEntries: 1000 },
      },
      mirror: {
        upstream: 'https://calendar.example',
        localRecords: 0,
        upstreamRecords: undefined,
        lagRecords: undefined,
        lastSyncAgeSeconds: undefined,
        state: 'following',
        refusals: 0,
        lastRefusal: undefined,
        unreachable: undefined,
        waiting: undefined,
        fork: undefined,
      },
    };
    const mirror = pageFacts(base, { stamping: false, proofs: true, headers: 'upstream' });
    assert.deepEqual(mirror.upstreams, ['https://calendar.example']);
    assert.match(stampNote(mirror), /mirror of https:\/\/calendar\.example and takes no digests itself/);
    assert.match(upgradeNote(mirror), /of http:\/\/mirror\.example or https:\/\/calendar\.example/);
    assert.match(trustNote(mirror), /relays from the calendar it follows, https:\/\/calendar\.example/);
    assert.match(
      trustNote(mirror),
      /checked the proofs it copied against those headers, linked to the checkpoints/,
    );
    assert.match(
      trustNote({ ...mirror, headers: 'upstream unchecked' }),
      /checked none of the proofs it copied: --mirror-headers insecure-none/,
    );
    const aggregating = pageFacts(base, { stamping: true, proofs: true, headers: 'own node' });
    assert.match(
      stampNote(aggregating),
      /passes digests to the calendar it follows, https:\/\/calendar\.example/,
    );
    assert.match(trustNote(aggregating), /this mirror's own Bitcoin node/);

    const { calendar: _, mirror: __, ...rest } = base;
    const aggregator = pageFacts(
      {
        ...rest,
        role: 'aggregator',
        upstreams: [
          { url: 'https://a.example', rounds: 0, failures: 0, consecutiveFailures: 0 },
          { url: 'https://b.example', rounds: 0, failures: 0, consecutiveFailures: 0 },
        ],
      },
      { stamping: true, proofs: false, headers: 'none' },
    );
    assert.match(
      stampNote(aggregator),
      /passes each round of digests to https:\/\/a\.example, https:\/\/b\.example/,
    );
    assert.match(upgradeNote(aggregator), /keeps no proofs/);
    assert.match(trustNote(aggregator), /no Bitcoin node/);
  });
});
