// Installs packages kept apart from otsd's own dependencies, each from its own lock file, when missing
// or when its lock file changed since: embedded/bcoin (the regtest node `npm start` and the tests run)
// and test/clients/js (the npm opentimestamps client, a test oracle, with its old request and
// bitcore-lib). Run by `npm start` and `npm test` rather than by an install hook: installing otsd as
// another project's dependency (from a folder or a tarball) must not install anything inside the
// source it was given.
//
// usage: node scripts/install-apart.mjs DIR...   (DIR relative to the repository)
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const repository = fileURLToPath(new URL('../', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

for (const dir of process.argv.slice(2)) {
  const here = `${repository}${dir.replace(/\/?$/, '/')}`;
  const wanted = createHash('sha256')
    .update(readFileSync(`${here}package-lock.json`))
    .digest('hex');
  const marker = `${here}node_modules/.otsd-installed`;
  if (existsSync(marker) && readFileSync(marker, 'utf8') === wanted) continue;
  process.stderr.write(`installing ${dir} (kept apart from otsd's dependencies), once...\n`);
  execFileSync(npm, ['ci', '--prefix', here, '--no-audit', '--no-fund', '--loglevel', 'error'], {
    stdio: 'inherit',
  });
  writeFileSync(marker, wanted);
}
