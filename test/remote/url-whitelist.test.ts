/** The calendar whitelist, case by case, and against python-opentimestamps' UrlWhitelist itself. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { DEFAULT_CALENDAR_WHITELIST, UrlWhitelist } from '../../src/remote/index.js';
import { requireTools } from '../helpers/require-tools.js';
import { oracleUnavailable } from '../oracle/python-oracle.js';

/** [patterns, url, allowed] */
const CASES: [string[], string, boolean][] = [
  [[...DEFAULT_CALENDAR_WHITELIST], 'https://alice.btc.calendar.opentimestamps.org', true],
  [[...DEFAULT_CALENDAR_WHITELIST], 'https://finney.calendar.eternitywall.com', true],
  [[...DEFAULT_CALENDAR_WHITELIST], 'http://alice.btc.calendar.opentimestamps.org', false],
  [[...DEFAULT_CALENDAR_WHITELIST], 'https://calendar.opentimestamps.org.evil.example', false],
  [[...DEFAULT_CALENDAR_WHITELIST], 'https://a.calendar.opentimestamps.org/', false],
  [[...DEFAULT_CALENDAR_WHITELIST], 'https://a.calendar.opentimestamps.org?x=1', false],
  [[...DEFAULT_CALENDAR_WHITELIST], 'http://127.0.0.1:14788', false],
  [['http://127.0.0.1:14788'], 'http://127.0.0.1:14788', true],
  [['http://127.0.0.1:14788'], 'http://127.0.0.1:14789', false],
  [['http://127.0.0.1:*'], 'http://127.0.0.1:14789', true],
  [['127.0.0.1:14788'], 'https://127.0.0.1:14788', true],
  [['127.0.0.1:14788'], 'http://127.0.0.1:14788', true],
  [['https://calendar.example.org/otsd'], 'https://calendar.example.org/otsd', true],
  [['https://calendar.example.org/otsd'], 'https://calendar.example.org', false],
  [[], 'https://a.calendar.opentimestamps.org', false],
  [['https://*.example.org'], 'ftp://a.example.org', false],
  [['https://*.example.org'], 'not a url', false],
];

describe('UrlWhitelist', () => {
  it('matches scheme and path exactly and the host as a glob', () => {
    for (const [patterns, url, allowed] of CASES) {
      assert.equal(new UrlWhitelist(patterns).has(url), allowed, `${patterns.join(' ')} ${url}`);
    }
    assert.throws(() => new UrlWhitelist(['https://a.example.org/?x']), /no query or fragment/);
    assert.throws(() => new UrlWhitelist(['https://cal?.example.org']), /no query or fragment/);
  });

  it('decides every case as python-opentimestamps does', (t) => {
    if (!requireTools(t, oracleUnavailable())) return;
    const script = `
import json, sys
from opentimestamps.calendar import UrlWhitelist
for patterns, url in json.loads(sys.stdin.read()):
    print(json.dumps(url in UrlWhitelist(patterns)))
`;
    const answer = spawnSync('/usr/bin/python3', ['-c', script], {
      input: JSON.stringify(CASES.map(([patterns, url]) => [patterns, url])),
      encoding: 'utf8',
    });
    assert.equal(answer.status, 0, answer.stderr);
    const theirs = answer.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as boolean);
    CASES.forEach(([patterns, url, allowed], i) => {
      assert.equal(theirs[i], allowed, `python-opentimestamps on ${patterns.join(' ')} ${url}`);
    });
  });
});
