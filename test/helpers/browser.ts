/**
 * Debian's Chromium, headless, driven by playwright-core (which downloads no browser of its own),
 * closed when the test ends.
 */
import { existsSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { type Browser, chromium } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';

export function chromiumUnavailable(): string | undefined {
  return existsSync(CHROMIUM) ? undefined : `${CHROMIUM} missing (apt-get install chromium; .ci/run does)`;
}

export async function launchChromium(t: TestContext): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 120_000,
    // no sandbox as root in CI; and no background traffic: this machine has no network beyond loopback
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  t.after(() => browser.close());
  return browser;
}
