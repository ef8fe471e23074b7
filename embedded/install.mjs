// Installs the embedded regtest node (bcoin, embedded/bcoin) that `npm start` and the tests run, when
// it is missing or its lock file changed since it was installed. It lives here, run by `npm start` and
// `npm test`, rather than in an install hook: installing otsd as another project's dependency (from a
// folder or a tarball) must not build or install anything inside the source it was given.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('./bcoin/', import.meta.url));
const lock = readFileSync(`${here}package-lock.json`);
const wanted = createHash('sha256').update(lock).digest('hex');
const marker = `${here}node_modules/.otsd-installed`;

if (existsSync(`${here}node_modules/bcoin/package.json`) && existsSync(marker)) {
  if (readFileSync(marker, 'utf8') === wanted) process.exit(0);
}
process.stderr.write('installing the embedded regtest node (bcoin) into embedded/bcoin, once...\n');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
execFileSync(npm, ['ci', '--prefix', here, '--no-audit', '--no-fund', '--loglevel', 'error'], {
  stdio: 'inherit',
});
writeFileSync(marker, wanted);
