/**
 * `otsd/ots` in a browser: bundled by esbuild for the browser platform (which fails on any Node
 * built-in), run in headless Chromium on every vector and fixture case, with the same outcomes as in
 * Node, byte for byte and line for line.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { toHex } from '../../src/ots/index.js';
import { chromiumUnavailable, launchChromium } from '../helpers/browser.js';
import { requireTools } from '../helpers/require-tools.js';
import { type CheckInput, type FixtureCase, runFormatChecks } from './portable-checks.js';
import { VECTORS_DIR } from './vectors.js';

const ENTRY = fileURLToPath(new URL('./browser-entry.js', import.meta.url));
const fixture = (name: string): FixtureCase[] =>
  JSON.parse(
    readFileSync(new URL(`../../../test/fixtures/${name}`, import.meta.url), 'utf8'),
  ) as FixtureCase[];

describe('otsd/ots in a browser', () => {
  it('bundles with no Node built-ins and gives the same outcome as Node on every vector and case', async (t) => {
    if (!requireTools(t, chromiumUnavailable())) return;
    const bundle = await build({
      entryPoints: [ENTRY],
      bundle: true,
      platform: 'browser',
      format: 'iife',
      write: false,
      logLevel: 'silent',
    });
    const script = bundle.outputFiles[0]?.text ?? '';
    assert.doesNotMatch(script, /node:crypto|Buffer\.from/);
    const input: CheckInput = {
      vectors: readdirSync(VECTORS_DIR)
        .filter((f) => f.endsWith('.ots'))
        .map((name) => ({ name, hex: toHex(readFileSync(`${VECTORS_DIR}/${name}`)) })),
      invalid: fixture('ots-invalid.json'),
      limits: fixture('ots-valid-limits.json'),
    };
    const inNode = runFormatChecks(input);

    const page = await (await launchChromium(t)).newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.setContent(
      `<!doctype html><script>checkInput = ${JSON.stringify(input)};</script><script>${script.replaceAll('</script', '<\\/script')}</script>`,
    );
    const inBrowser = await page.evaluate(() => (globalThis as { checkResults?: unknown }).checkResults);
    assert.deepEqual(errors, []);
    assert.deepEqual(inBrowser, inNode);
    // and the checks are the real ones: known answers, in both
    assert.equal(
      inNode['digest sha256("abc")'],
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    assert.match(inNode['hello-world.txt.ots bitcoin'] as string, /^358391 8a1b66ec/);
    assert.equal(Object.values(inNode).filter((v) => v.startsWith('error ')).length, input.invalid.length);
  });
});
