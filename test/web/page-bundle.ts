/** Whether `npm run build` bundled the page's script (tsc alone does not). */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const BUNDLE = fileURLToPath(new URL('../../src/web/page.js', import.meta.url));

export function pageBundleMissing(): string | undefined {
  return existsSync(BUNDLE) ? undefined : `${BUNDLE} missing: npm run build bundles it (tsc alone does not)`;
}
