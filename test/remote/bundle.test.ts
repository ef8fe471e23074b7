/** `otsd/remote` bundles for browsers too: esbuild's browser platform fails on any Node built-in. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

describe('otsd/remote for browsers', () => {
  it('bundles for the browser platform with no Node built-in and no Buffer', async () => {
    const bundle = await build({
      entryPoints: [fileURLToPath(new URL('../../src/remote/index.js', import.meta.url))],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      logLevel: 'silent',
    });
    const script = bundle.outputFiles[0]?.text ?? '';
    assert.match(script, /RemoteCalendar/);
    assert.doesNotMatch(script, /\bBuffer\.\w|["']node:/);
  });
});
