/**
 * The README's first command, as a newcomer runs it: `npm start` builds, installs the embedded regtest
 * node if needed, starts a calendar on it and says what to do next; a real client then stamps, the
 * proof completes on the embedded chain, and python-opentimestamps verifies it against the node the
 * next-steps text names.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runPython } from '../clients/run-client.js';
import { spawnTracked } from '../helpers/child-process.js';
import { freePort } from '../helpers/free-port.js';
import { requireTools } from '../helpers/require-tools.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';
import { oracleUnavailable } from '../oracle/python-oracle.js';

const REPOSITORY = fileURLToPath(new URL('../../../', import.meta.url));

describe('npm start', () => {
  it('runs a calendar on the embedded regtest node, says what to do next, and the whole loop works', async (t) => {
    if (!requireTools(t, oracleUnavailable())) return;
    const dataDir = tempDir(t);
    const url = `http://127.0.0.1:${await freePort()}`;
    // as the README says, plus a port and a data dir of the test's own
    const npm = spawnTracked('npm', ['start', '--', '--listen', url.slice(7), '--data-dir', dataDir], {
      cwd: REPOSITORY,
      detached: true,
    });
    t.after(() => npm.stop('SIGINT'));
    const steps = (
      await npm.waitForOutput(/Next steps[\s\S]*?verify it +(.*)\n/, 'npm start: next steps')
    )[0];

    assert.match(steps, new RegExp(`in a browser +${url}/ \\(this calendar's page`));
    assert.match(steps, new RegExp(`stamp a file +ots stamp -c ${url} -m 1 FILE\\n`));
    assert.match(steps, new RegExp(`watch it +${url}/status `));
    // the page it names is there, with its script
    const page = await (await fetch(`${url}/`)).text();
    assert.match(page, /<h2 id="stamp-title">Stamp files<\/h2>/);
    assert.match(page, /<script type="module" src="assets\/page-[0-9a-f]{16}\.js"/);
    assert.match(steps, new RegExp(`upgrade the proof +ots upgrade -c ${url} FILE\\.ots `));
    const verifyLine =
      /verify it +ots --btc-regtest --bitcoin-node "\$\(cat (\/\S+)\)" verify FILE\.ots/.exec(steps);
    assert.ok(verifyLine, steps);
    const rpcUrlFile = verifyLine[1] as string;
    assert.ok(existsSync(rpcUrlFile), `${rpcUrlFile} (named in the next steps) exists`);

    const [submitted] = await runPython('python_client.py', [url, 'submit', '1']);
    const commitment = submitted?.commitment as string;
    await waitFor(
      'the proof to complete on the embedded chain',
      async () => {
        const [answer] = await runPython('python_client.py', [url, 'get', commitment]);
        return (answer?.heights as number[] | undefined)?.length ? answer : undefined;
      },
      120_000,
      npm.output,
    );
    // what `ots verify` with the printed --bitcoin-node does: the attestation against the node's header
    const rpcUrl = readFileSync(rpcUrlFile, 'utf8').trim();
    const [verified] = await runPython('python_verify.py', [url, rpcUrl, commitment]);
    assert.equal((verified?.verified as unknown[] | undefined)?.length, 1, JSON.stringify(verified));

    // a stop sent to npm alone (as a process manager or an IDE sends it) reaches otsd: it stops cleanly
    // (were it left running, the helper would kill the group with SIGKILL and this line would be missing)
    process.kill(npm.child.pid as number, 'SIGTERM');
    await npm.exited;
    assert.match(npm.output(), /calendar: stopped/);
  });
});
