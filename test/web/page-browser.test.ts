/**
 * The page in Debian's headless Chromium against a calendar on the embedded regtest chain: a file is
 * stamped through the page, mined, then upgraded and verified through the page; the downloaded
 * `.ots` files are checked by python-opentimestamps and `otsd verify`; a tampered `.ots`, a damaged
 * one and a wrong original file are reported as such; the inputs are labelled and reachable by
 * keyboard; nothing overflows a 375 px screen; nothing is loaded from elsewhere. Screenshots of each
 * step go to a temporary directory the test prints.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { bcoinChainDir, RPC_URL_FILE } from '../../src/bitcoin/embedded-bcoin.js';
import { PAGE_CSP } from '../../src/http/page-route.js';
import { DetachedTimestampFile, PendingAttestation, toHex } from '../../src/ots/index.js';
import { utcTime } from '../../src/web/check.js';
import { runCli } from '../cli/run-cli.js';
import { runPython } from '../clients/run-client.js';
import { chromiumUnavailable, launchChromium } from '../helpers/browser.js';
import { FAST_EMBEDDED_REGTEST, startCalendarProcess } from '../helpers/calendar-process.js';
import { embeddedBcoinMissing, requireTools } from '../helpers/require-tools.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';
import { oracleUnavailable } from '../oracle/python-oracle.js';
import { pageBundleMissing } from './page-bundle.js';

interface FileReport {
  digest_matches: boolean;
  ops: string[];
  pending: string[];
  verified: { height: number; time: number; header: string }[];
}

/** Waits for the check's outcome (not a progress note) and returns its class and headline. */
async function verdictOf(page: Page, output: string): Promise<{ kind: string; text: string }> {
  const verdict = page.locator(`${output} .verdict:not(.working)`);
  await verdict.waitFor({ timeout: 30_000 });
  const kind = ((await verdict.getAttribute('class')) ?? '').replace('verdict', '').trim();
  // biome-ignore lint/performance/useDomNodeTextContent: the text as a person reads it, a line per paragraph
  return { kind, text: await page.locator(output).innerText() };
}

async function download(page: Page, linkText: string, path: string): Promise<Buffer> {
  const [file] = await Promise.all([page.waitForEvent('download'), page.getByText(linkText).click()]);
  await file.saveAs(path);
  return readFileSync(path);
}

describe('the page in a real browser', () => {
  it('stamps, upgrades and verifies through the page, and says what is wrong with a bad proof', async (t) => {
    if (
      !requireTools(
        t,
        chromiumUnavailable(),
        oracleUnavailable(),
        embeddedBcoinMissing(),
        pageBundleMissing(),
      )
    )
      return;
    const shots = mkdtempSync(join(tmpdir(), 'otsd-page-screenshots-'));
    t.diagnostic(`screenshots of each step: ${shots}`);
    let step = 0;
    const shoot = (page: Page, name: string) =>
      page.screenshot({
        path: join(shots, `${String(++step).padStart(2, '0')}-${name}.png`),
        fullPage: true,
      });

    const dataDir = tempDir(t);
    const work = tempDir(t);
    const calendar = await startCalendarProcess(dataDir, FAST_EMBEDDED_REGTEST);
    t.after(() => calendar.stop());
    const browser = await launchChromium(t);
    const context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
    // every page of the context: no script error, no request to anyone but the servers under test
    const origins = [calendar.url];
    const expected404 = (url: string) => url.includes('/timestamp/') || url.endsWith('/digest');
    const problems: string[] = [];
    context.on('weberror', (e) => problems.push(`page error: ${e.error().message}`));
    context.on('console', (m) => {
      // the browser logs each 404; the responses below tell expected ones ("pending", "no digests here") apart
      if ((m.type() === 'error' || m.type() === 'warning') && !m.text().includes('status of 404'))
        problems.push(`console: ${m.text()}`);
    });
    context.on('response', (r) => {
      if (r.status() >= 400 && !(r.status() === 404 && expected404(r.url())))
        problems.push(`HTTP ${r.status()}: ${r.url()}`);
    });
    context.on('request', (r) => {
      const url = r.url();
      if (!origins.some((o) => url.startsWith(`${o}/`) || url.startsWith(`blob:${o}/`)))
        problems.push(`request elsewhere: ${url}`);
    });
    const page = await context.newPage();

    const response = await page.goto(calendar.url);
    assert.equal(response?.headers()['content-security-policy'], PAGE_CSP);
    await page.getByText('Stamp files', { exact: true }).waitFor();
    await shoot(page, 'page');

    // stamp two files through the page, as `ots stamp -c CALENDAR a b` would
    const original = Buffer.from('a file stamped through the page\n');
    const originalPath = join(work, 'hello.txt');
    writeFileSync(originalPath, original);
    const second = Buffer.from(crypto.getRandomValues(new Uint8Array(5000)));
    writeFileSync(join(work, 'second.bin'), second);
    await page.setInputFiles('#stamp-files', [
      { name: 'hello.txt', mimeType: 'text/plain', buffer: original },
      { name: 'second.bin', mimeType: 'application/octet-stream', buffer: second },
    ]);
    const stamped = await verdictOf(page, '#stamp-output');
    assert.equal(stamped.kind, 'stamped', stamped.text);
    await shoot(page, 'stamped');
    const stampedPath = join(work, 'hello.txt.ots');
    const stampedBytes = await download(page, 'Download hello.txt.ots', stampedPath);
    await download(page, 'Download second.bin.ots', join(work, 'second.bin.ots'));
    for (const name of ['hello.txt', 'second.bin']) {
      const [report] = (await runPython('python_verify_file.py', [
        join(work, `${name}.ots`),
        join(work, name),
      ])) as unknown as FileReport[];
      assert.equal(report?.digest_matches, true, name);
      assert.match(report?.ops[0] ?? '', /^append [0-9a-f]{32}$/, 'a 16-byte nonce first');
      assert.equal(report?.ops[1], 'sha256');
      assert.deepEqual(report?.pending, [calendar.url]);
    }
    assert.match(
      runCli(['info', stampedPath]).stdout,
      /verify PendingAttestation\('http:\/\/127\.0\.0\.1:\d+'\)/,
    );

    // dropped at once, the stamp is still pending (unless the chain already confirmed it)
    const commitment = DetachedTimestampFile.fromBytes(stampedBytes).timestamp.shortestPathTo(
      (a) => a instanceof PendingAttestation,
    )?.msg as Uint8Array;
    await page.setInputFiles('#proof-file', stampedPath);
    const early = await verdictOf(page, '#check-output');
    await shoot(page, 'pending');
    if (early.kind !== 'verified') {
      assert.equal(early.kind, 'pending', early.text);
      assert.match(early.text, /Not verified yet: the timestamp is pending/);
      assert.match(early.text, /Pending confirmation in Bitcoin blockchain|Timestamped by transaction/);
    }

    const proofAt = (url: string) => async () =>
      (await fetch(`${url}/timestamp/${toHex(commitment)}`)).status === 200 ? true : undefined;
    await waitFor('the calendar to complete the proof', proofAt(calendar.url), 90_000, calendar.output);

    // upgrade and verify through the page: adding the original file checks the chosen .ots again
    await page.setInputFiles('#original-file', originalPath);
    const verified = await verdictOf(page, '#check-output');
    assert.equal(verified.kind, 'verified', verified.text);
    const height = Number(
      /Verified: bcoin-regtest \(a test chain, not Bitcoin\) block (\d+) attests that hello\.txt existed by /.exec(
        verified.text,
      )?.[1],
    );
    assert.ok(height > 0, verified.text);
    assert.match(verified.text, /this calendar's own Bitcoin node: it trusts that node/);
    assert.match(verified.text, /bcoin-regtest, a test chain/);
    assert.match(verified.text, /hello\.txt matches the timestamp's sha256 digest/);
    assert.match(verified.text, /verify BitcoinBlockHeaderAttestation\(\d+\)/);
    await shoot(page, 'verified');
    const upgradedPath = join(work, 'upgraded', 'hello.txt.ots');
    const upgraded = await download(page, 'Download the upgraded hello.txt.ots', upgradedPath);

    // the downloaded proof, as python-opentimestamps and otsd verify read it, against the node itself
    const rpcUrl = readFileSync(join(bcoinChainDir(dataDir), RPC_URL_FILE), 'utf8').trim();
    const [report] = (await runPython('python_verify_file.py', [
      upgradedPath,
      originalPath,
      rpcUrl,
    ])) as unknown as FileReport[];
    assert.equal(report?.digest_matches, true);
    assert.equal(report?.verified.length, 1, JSON.stringify(report));
    const block = report?.verified[0] as FileReport['verified'][number];
    assert.equal(block.height, height);
    assert.match(verified.text, new RegExp(`mined ${utcTime(block.time)}`));
    const otsdVerify = runCli(['verify', upgradedPath, '--header', block.header, '--target', originalPath]);
    assert.equal(otsdVerify.status, 0, otsdVerify.stdout + otsdVerify.stderr);
    assert.match(otsdVerify.stdout, new RegExp(`Success! Bitcoin block ${height} attests existence`));

    // a tampered proof: one byte of the nonce changed (the first op after the 65-byte header and digest)
    assert.deepEqual([upgraded[65], upgraded[66]], [0xf0, 0x10], 'append of a 16-byte nonce');
    const tampered = Buffer.from(upgraded);
    tampered[70] = (tampered[70] as number) ^ 1;
    await page.setInputFiles('#proof-file', {
      name: 'tampered.ots',
      mimeType: 'application/octet-stream',
      buffer: tampered,
    });
    const altered = await verdictOf(page, '#check-output');
    assert.equal(altered.kind, 'failed', altered.text);
    assert.match(
      altered.text,
      new RegExp(
        `Not verified: the proof does not lead to Bitcoin block ${height}: the timestamp was altered`,
      ),
    );
    await shoot(page, 'tampered');

    // a damaged one: cut short
    await page.setInputFiles('#proof-file', {
      name: 'damaged.ots',
      mimeType: 'application/octet-stream',
      buffer: upgraded.subarray(0, 60),
    });
    const damaged = await verdictOf(page, '#check-output');
    assert.equal(damaged.kind, 'failed', damaged.text);
    assert.match(damaged.text, /damaged\.ots is not a valid timestamp: it was damaged or altered/);
    await shoot(page, 'damaged');

    // the right proof with the wrong original file
    await page.setInputFiles('#original-file', {
      name: 'other.txt',
      mimeType: 'text/plain',
      buffer: Buffer.from('not the file that was stamped\n'),
    });
    await page.setInputFiles('#proof-file', upgradedPath);
    const wrong = await verdictOf(page, '#check-output');
    assert.equal(wrong.kind, 'failed', wrong.text);
    assert.match(wrong.text, /Wrong original file: other\.txt is not the file this timestamp is for/);
    await shoot(page, 'wrong-original');

    // dropped alone, a timestamp is checked without the original file of the check before it
    const dropped = await page.evaluateHandle(`(() => {
      const transfer = new DataTransfer();
      transfer.items.add(new File([new Uint8Array(${JSON.stringify([...upgraded])})], 'HELLO.TXT.OTS'));
      return transfer;
    })()`);
    await page.dispatchEvent('#check-drop', 'drop', { dataTransfer: dropped });
    const alone = await verdictOf(page, '#check-output');
    assert.equal(alone.kind, 'verified', alone.text);
    assert.match(alone.text, /attests that the timestamped file existed by /);
    assert.equal(
      await page.locator('#check-files').textContent(),
      'Timestamp: HELLO.TXT.OTS · original file: none',
    );

    // keyboard: every input has its label and is reached with Tab
    const fresh = await context.newPage();
    await fresh.goto(calendar.url);
    for (const [label, id] of [
      ['Files to stamp', 'stamp-files'],
      ['Timestamp file, .ots', 'proof-file'],
      ['Original file, optional', 'original-file'],
    ] as const) {
      assert.equal(await fresh.getByLabel(label).getAttribute('id'), id);
    }
    const reached = new Set<string>();
    for (let i = 0; i < 12; i++) {
      await fresh.keyboard.press('Tab');
      reached.add(await fresh.evaluate<string>("document.activeElement?.id ?? ''"));
    }
    for (const id of ['stamp-files', 'proof-file', 'original-file'])
      assert.ok(reached.has(id), `${id} reached by Tab (reached ${[...reached].join(', ')})`);

    // a phone-width screen: a verified report (long hashes included) does not overflow sideways
    await fresh.setViewportSize({ width: 375, height: 800 });
    await fresh.setInputFiles('#original-file', originalPath);
    await fresh.setInputFiles('#proof-file', upgradedPath);
    assert.equal((await verdictOf(fresh, '#check-output')).kind, 'verified');
    const widths = await fresh.evaluate<number[]>(
      '[document.documentElement.scrollWidth, window.innerWidth]',
    );
    assert.ok(
      (widths[0] as number) <= (widths[1] as number),
      `page ${widths[0]} px wide on a ${widths[1]} px screen`,
    );
    await shoot(fresh, 'phone');

    // a mirror of the calendar, without a node of its own (regtest's work is not worth checking: the
    // mirror checks nothing, and says so): it upgrades the stamp from its copy and verifies it against
    // the headers it relays from the calendar, and says whose they are; it takes no digests
    const mirror = await startCalendarProcess(tempDir(t), [
      ...['--role', 'mirror', '--upstream', calendar.url],
      ...['--bitcoin-network', 'bcoin-regtest', '--mirror-headers', 'insecure-none', '--log-level', 'warn'],
    ]);
    t.after(() => mirror.stop());
    origins.push(mirror.url);
    await waitFor('the mirror to copy the proof', proofAt(mirror.url), 60_000, mirror.output);
    const onMirror = await context.newPage();
    await onMirror.goto(mirror.url);
    await onMirror.setInputFiles('#proof-file', stampedPath);
    const mirrored = await verdictOf(onMirror, '#check-output');
    assert.equal(mirrored.kind, 'verified', mirrored.text);
    assert.match(
      mirrored.text,
      new RegExp(
        `Verified: bcoin-regtest \\(a test chain, not Bitcoin\\) block ${height} attests that the timestamped file`,
      ),
    );
    assert.match(
      mirrored.text,
      new RegExp(`relays from the calendar it follows, ${calendar.url}: it trusts that calendar's node`),
    );
    assert.match(mirrored.text, /checked none of the proofs it copied: --mirror-headers insecure-none/);
    await onMirror.setInputFiles('#stamp-files', { name: 'x.txt', mimeType: 'text/plain', buffer: original });
    const refused = await verdictOf(onMirror, '#stamp-output');
    assert.equal(refused.kind, 'failed', refused.text);
    assert.match(
      refused.text,
      /Not stamped: the calendar refused the digest: HTTP 404: this mirror does not take digests/,
    );
    assert.match(
      (await onMirror.locator('main').textContent()) ?? '',
      new RegExp(`mirror of ${calendar.url} and takes no digests itself`),
    );
    await shoot(onMirror, 'mirror');

    assert.deepEqual(problems, []);
  });
});
