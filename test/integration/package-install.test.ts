/**
 * otsd as another project's dependency: installed from its folder or from the tarball `npm pack`
 * makes, it builds and installs nothing inside the source it was given, and its libraries and command
 * work from the installing project (the page's bundled script included).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { tempDir } from '../helpers/temp-dir.js';

const run = promisify(execFile);
const REPOSITORY = fileURLToPath(new URL('../../../', import.meta.url));
const NPM_FLAGS = ['--no-audit', '--no-fund', '--prefer-offline', '--loglevel', 'error'];

/** What an install could change inside the source: its build and the embedded node's install. */
const sourceState = () =>
  ['dist/src/cli/main.js', 'dist/src/ots/index.js', 'embedded/bcoin/node_modules']
    .map((path) => `${path} ${statSync(join(REPOSITORY, path)).mtimeMs}`)
    .join('\n');

async function newProject(dir: string): Promise<void> {
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'uses-otsd', private: true, type: 'module' }),
  );
  writeFileSync(
    join(dir, 'use.js'),
    "import { OpSHA256, toHex } from 'otsd/ots';\nimport { RemoteCalendar } from 'otsd/remote';\n" +
      'console.log(toHex(new OpSHA256().call(new Uint8Array())), typeof RemoteCalendar);\n',
  );
}

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

describe('installing otsd into another project', () => {
  it('from its folder: nothing in the source is rebuilt or reinstalled, and otsd/ots works', async (t) => {
    const project = tempDir(t);
    await newProject(project);
    const before = sourceState();
    await run('npm', ['install', ...NPM_FLAGS, REPOSITORY], { cwd: project, timeout: 240_000 });
    assert.equal(sourceState(), before);
    const { stdout } = await run(process.execPath, ['use.js'], { cwd: project });
    assert.equal(stdout, `${EMPTY_SHA256} function\n`);
  });

  it('from the tarball npm pack makes: the package carries its build, and the otsd command runs', async (t) => {
    const packed = tempDir(t);
    await run('npm', ['pack', '--pack-destination', packed, '--loglevel', 'error'], {
      cwd: REPOSITORY,
      timeout: 120_000,
    });
    const tarball = readdirSync(packed).find((f) => f.endsWith('.tgz'));
    assert.ok(tarball, 'npm pack wrote a tarball');
    const project = tempDir(t);
    await newProject(project);
    await run('npm', ['install', ...NPM_FLAGS, join(packed, tarball)], { cwd: project, timeout: 240_000 });
    const { stdout } = await run(process.execPath, ['use.js'], { cwd: project });
    assert.equal(stdout, `${EMPTY_SHA256} function\n`);
    const version = await run(join(project, 'node_modules/.bin/otsd'), ['--version'], { cwd: project });
    assert.match(version.stdout, /^\d+\.\d+\.\d+/);
    // the page's script, bundled by the build, travels with it
    assert.ok(
      existsSync(join(project, 'node_modules/otsd/dist/src/web/page.js')),
      'the page script is packed',
    );
  });
});
