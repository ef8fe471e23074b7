/**
 * A mirror without a node checks Bitcoin attestations against headers from its upstream (proof of
 * work and continuity): it follows a calendar stamping on the embedded bcoin regtest chain, and a
 * mirror of that mirror too; a header altered on the way stops it.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { embeddedBcoinInstalled } from '../../src/bitcoin/embedded-bcoin.js';
import { targetFromBits } from '../../src/remote/header-chain.js';
import { FAST_EMBEDDED_REGTEST, startCalendarProcess } from '../helpers/calendar-process.js';
import { requireTools } from '../helpers/require-tools.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';

type Status = { journal: { records: number }; mirror?: { integrity_error: string | null } };
const status = async (url: string) =>
  (await (await fetch(url, { headers: { accept: 'application/json' } })).json()) as Status;

describe('mirrors checking headers from upstream', () => {
  it('follow a calendar stamping on regtest, through a mirror, and stop at an altered header', async (t) => {
    if (!requireTools(t, embeddedBcoinInstalled() ? undefined : 'npm ci --prefix embedded/bcoin first'))
      return;
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

    const mirror = await startCalendarProcess(tempDir(t), [
      '--role',
      'mirror',
      '--upstream',
      calendar.url,
      '--log-level',
      'warn',
    ]);
    t.after(() => mirror.stop());
    const second = await startCalendarProcess(tempDir(t), [
      '--role',
      'mirror',
      '--upstream',
      mirror.url,
      '--log-level',
      'warn',
    ]);
    t.after(() => second.stop());
    const target = (await status(calendar.url)).journal.records;
    await waitFor(
      'both mirrors',
      async () => ((await status(second.url)).journal.records >= target ? true : undefined),
      60_000,
    );
    assert.equal((await status(mirror.url)).mirror?.integrity_error, null);
    assert.equal((await status(second.url)).mirror?.integrity_error, null);
    const headers = await fetch(`${mirror.url}/bitcoin/headers?from=1&count=3`);
    assert.equal(headers.status, 200);
    assert.equal((await headers.arrayBuffer()).byteLength, 240);

    // a fault no real calendar produces: a proxy that alters the merkle root of every header it passes
    const proxy = createServer(async (req, res) => {
      const answer = await fetch(`${calendar.url}${req.url}`);
      const body = Buffer.from(await answer.arrayBuffer());
      if (req.url?.startsWith('/bitcoin/headers'))
        for (let at = 36; at < body.length; at += 80) body[at] = (body[at] as number) ^ 1;
      const headersOut: Record<string, string> = {};
      answer.headers.forEach((value, key) => {
        if (key !== 'content-length' && key !== 'transfer-encoding' && key !== 'connection')
          headersOut[key] = value;
      });
      res.writeHead(answer.status, headersOut).end(body);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    t.after(() => proxy.close());
    const victim = await startCalendarProcess(tempDir(t), [
      '--role',
      'mirror',
      '--upstream',
      `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
      '--log-level',
      'debug',
    ]);
    t.after(() => victim.stop());
    const stopped = await waitFor(
      'the refusal',
      async () => (await status(victim.url)).mirror?.integrity_error ?? undefined,
      60_000,
      () =>
        victim
          .output()
          .split('\n')
          .filter((l) => !l.includes('"msg":"request"'))
          .slice(-15)
          .join('\n'),
    );
    assert.match(
      stopped,
      /Bitcoin header \d+ from the upstream (lacks its proof of work|does not link|does not match the attestation)/,
    );
  });

  it('targets are decoded from nBits as Bitcoin does', () => {
    assert.equal(targetFromBits(0x1d00ffff), 0xffffn << 208n);
    assert.equal(targetFromBits(0x207fffff), 0x7fffffn << 232n);
    assert.equal(targetFromBits(0x03123456), 0x123456n);
    assert.equal(targetFromBits(0x02123456), 0x1234n);
  });
});
