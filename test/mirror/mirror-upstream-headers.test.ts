/**
 * A mirror without a node on any network but mainnet is refused at start, naming the two ways out:
 * regtest's proof of work is trivial, and a testnet3 or signet header past the last checkpoint is
 * forged in seconds. On the embedded bcoin regtest chain, with the way out that says it
 * is insecure (--mirror-headers insecure-none) a mirror, and a mirror of that mirror, follow a calendar
 * stamping on regtest, and serve the chain's headers under their own network setting. The node-less
 * check itself is tested on mainnet headers: header-chain.test.ts and mirror-forging.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from '../cli/run-cli.js';
import { FAST_EMBEDDED_REGTEST, startCalendarProcess } from '../helpers/calendar-process.js';
import { embeddedBcoinMissing, requireTools } from '../helpers/require-tools.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';

type Status = { journal: { records: number }; mirror?: { refusals: number; integrity_error: string | null } };
const status = async (url: string) =>
  (await (await fetch(url, { headers: { accept: 'application/json' } })).json()) as Status;

describe('mirrors of a calendar on a network other than mainnet', () => {
  for (const network of ['bcoin-regtest', 'regtest', 'litecoin-regtest', 'test', 'signet']) {
    it(`refuse to start without a node on ${network}, naming --bitcoin-rpc and insecure-none`, (t) => {
      const result = runCli([
        'run',
        '--role',
        'mirror',
        '--upstream',
        'http://127.0.0.1:9',
        '--bitcoin-network',
        network,
        '--data-dir',
        tempDir(t),
        '--listen',
        '127.0.0.1:0',
      ]);
      assert.equal(result.status, 1);
      assert.match(
        result.stderr,
        new RegExp(
          `cannot check Bitcoin attestations on ${network}.*--bitcoin-rpc.*--mirror-headers insecure-none`,
        ),
      );
    });
  }

  it('with insecure-none follow a calendar stamping on regtest, through a mirror', async (t) => {
    if (!requireTools(t, embeddedBcoinMissing())) return;
    const calendar = await startCalendarProcess(tempDir(t), FAST_EMBEDDED_REGTEST);
    t.after(() => calendar.stop());
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${calendar.url}/digest`, { method: 'POST', body: new Uint8Array(32).fill(i) });
      assert.equal(res.status, 200);
    }
    await waitFor(
      'the Bitcoin proofs on the calendar',
      async () => {
        const s = (await (await fetch(calendar.url, { headers: { accept: 'application/json' } })).json()) as {
          pending_commitments: number;
          commitments: number;
        };
        return s.commitments > 0 && s.pending_commitments === 0 ? true : undefined;
      },
      90_000,
    );
    const mirrorOf = async (upstream: string) => {
      const mirror = await startCalendarProcess(tempDir(t), [
        '--role',
        'mirror',
        '--upstream',
        upstream,
        '--bitcoin-network',
        'bcoin-regtest',
        '--mirror-headers',
        'insecure-none',
        '--log-level',
        'warn',
      ]);
      t.after(() => mirror.stop());
      return mirror;
    };
    const mirror = await mirrorOf(calendar.url);
    const second = await mirrorOf(mirror.url);
    const target = (await status(calendar.url)).journal.records;
    await waitFor(
      'both mirrors',
      async () => ((await status(second.url)).journal.records >= target ? true : undefined),
      60_000,
    );
    assert.equal((await status(mirror.url)).mirror?.refusals, 0);
    assert.equal((await status(second.url)).mirror?.refusals, 0);
    const headers = await fetch(`${mirror.url}/bitcoin/headers?from=1&count=3`);
    assert.equal(headers.status, 200);
    assert.equal(headers.headers.get('x-otsd-network'), 'bcoin-regtest');
    assert.equal((await headers.arrayBuffer()).byteLength, 240);
  });
});
