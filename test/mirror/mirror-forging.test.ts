/**
 * A calendar that forges proofs (its journal holds proofs of Bitcoin blocks that do not exist, and a
 * FAKE upstream in front of it serves made-up headers for them): a mirror without a node, on mainnet,
 * refuses each forgery and keeps the record out; so does a mirror of a mirror that was told to trust
 * its upstream. Attestations a mirror cannot check are refused unless they name its calendar.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import type { CalendarNode } from '../../src/daemon/calendar-node.js';
import {
  type Attestation,
  BitcoinBlockHeaderAttestation,
  LitecoinBlockHeaderAttestation,
  MerkleTree,
  OpSHA256,
  PendingAttestation,
  sha256,
  Timestamp,
} from '../../src/ots/index.js';
import { runCliAsync } from '../cli/run-cli.js';
import { startTestNode } from '../helpers/calendar-node.js';
import { type ForgingUpstream, forgeChain, startForgingUpstream } from '../helpers/forging-upstream.js';
import { captureLogs } from '../helpers/log-capture.js';
import { tempDir } from '../helpers/temp-dir.js';
import { waitFor } from '../helpers/wait-for.js';

const HEIGHT = 800_000;

/** A calendar with 3 commitments and a forged proof of them: returns the proof's attested root. */
async function forgingCalendar(
  t: TestContext,
  extra: Attestation[] = [],
  height = HEIGHT,
): Promise<{
  calendar: CalendarNode;
  upstream: ForgingUpstream;
  root: Uint8Array;
  commitments: Uint8Array[];
}> {
  const calendar = await startTestNode(t);
  const commitments = Array.from({ length: 3 }, () => crypto.getRandomValues(new Uint8Array(32)));
  for (const c of commitments) await calendar.calendar.commit(c);
  const tip = new Timestamp(new MerkleTree(commitments.map((c) => sha256(c))).root);
  const attested = tip.ops.add(new OpSHA256());
  attested.attestations.add(new BitcoinBlockHeaderAttestation(height));
  for (const attestation of extra) tip.attestations.add(attestation);
  await calendar.calendar.addProof([0, 1, 2], tip);
  const upstream = await startForgingUpstream(t, calendar.url);
  return { calendar, upstream, root: attested.msg, commitments };
}

/** A mirror of `url`; resolves with why it refused the upstream's data, checking nothing was kept. */
async function refusal(t: TestContext, url: string, options: { insecure?: boolean } = {}) {
  const mirror = await startTestNode(t, {
    mirrorOf: url,
    ...(options.insecure && { mirrorHeaders: 'insecure-none' as const }),
  });
  const error = await waitFor('the refusal', () => mirror.mirror?.status().lastRefusal?.reason, 30_000);
  // the forged proof shares its chunk with the commitments: nothing of a chunk that fails is kept
  assert.equal(mirror.calendar.journal.head.records, 0, 'the forged record kept out');
  return { error, mirror };
}

describe('a mirror without a node, of a forging calendar', () => {
  it('refuses headers without proof of work', async (t) => {
    const { upstream, root } = await forgingCalendar(t);
    upstream.headers = forgeChain(HEIGHT, root, 0x1d00ffff, false);
    const { error } = await refusal(t, upstream.url);
    assert.match(error, /upstream record 3: Bitcoin header 800000 from the upstream lacks its proof of work/);
  });

  it('refuses regtest-difficulty headers', async (t) => {
    const { upstream, root } = await forgingCalendar(t);
    upstream.headers = forgeChain(HEIGHT, root, 0x207fffff, true);
    const { error } = await refusal(t, upstream.url);
    assert.match(
      error,
      /Bitcoin header 800000 from the upstream claims a target easier than the network allows/,
    );
  });

  for (const network of ['regtest', 'litecoin-regtest', 'no-such-network']) {
    it(`refuses an upstream whose X-OTSD-Network says ${network}`, async (t) => {
      const { upstream, root } = await forgingCalendar(t);
      upstream.headers = forgeChain(HEIGHT, root, 0x207fffff, true);
      upstream.network = network;
      const { error } = await refusal(t, upstream.url);
      assert.match(
        error,
        new RegExp(`says its headers are of network "${network}"; this mirror checks main`),
      );
    });
  }

  it('refuses a pending attestation to another URI, and an attestation it cannot check', async (t) => {
    const tracker = await forgingCalendar(t, [new PendingAttestation('https://tracker.example')]);
    const first = await refusal(t, tracker.upstream.url);
    assert.match(
      first.error,
      /upstream record 3: proof carries a pending attestation to https:\/\/tracker\.example, not to http/,
    );
    const litecoin = await forgingCalendar(t, [new LitecoinBlockHeaderAttestation(HEIGHT)]);
    const second = await refusal(t, litecoin.upstream.url, { insecure: true });
    assert.match(
      second.error,
      /proof carries an attestation the mirror cannot check: LitecoinBlockHeaderAttestation/,
    );
  });

  it('a mirror of a mirror that trusted the forger refuses the forged proof itself', async (t) => {
    const { upstream, root, commitments } = await forgingCalendar(t);
    upstream.headers = forgeChain(HEIGHT, root, 0x207fffff, true);
    const trusting = await startTestNode(t, { mirrorOf: upstream.url, mirrorHeaders: 'insecure-none' });
    await waitFor('the insecure mirror to copy the forgery', () =>
      trusting.calendar.journal.head.records === 4 ? true : undefined,
    );
    assert.equal(trusting.calendar.index.lookup(commitments[0] as Uint8Array).state, 'proved');
    const { error, mirror } = await refusal(t, trusting.url);
    assert.match(
      error,
      /Bitcoin header 800000 from the upstream claims a target easier than the network allows/,
    );
    assert.equal(mirror.calendar.index.lookup(commitments[0] as Uint8Array).state, 'unknown');
  });

  it('with insecure-none it says so at start and on its status page', async (t) => {
    const calendar = await startTestNode(t);
    const warningsOf = async (url: string) =>
      (
        (await (await fetch(url, { headers: { accept: 'application/json' } })).json()) as {
          warnings: string[];
        }
      ).warnings;
    const unchecked =
      /--mirror-headers insecure-none and no Bitcoin node .*checks none of the Bitcoin attestations/;
    const { logger, lines } = captureLogs('warn');
    const trusting = await startTestNode(t, {
      mirrorOf: calendar.url,
      mirrorHeaders: 'insecure-none',
      logger,
    });
    assert.ok(
      lines.some((l) => l.level === 40 && unchecked.test(String(l.msg))),
      JSON.stringify(lines),
    );
    assert.match((await warningsOf(trusting.url)).join('\n'), unchecked);
    const checking = await startTestNode(t, { mirrorOf: calendar.url });
    assert.deepEqual(await warningsOf(checking.url), []);
  });

  it("waits for an attestation past the upstream's headers, logging it as that, not as an unreachable upstream", async (t) => {
    const { upstream } = await forgingCalendar(t, [], 950_000);
    upstream.headers = () => []; // 404: no block at that height yet
    const { logger, lines } = captureLogs('warn');
    const mirror = await startTestNode(t, { mirrorOf: upstream.url, logger });
    const line = await waitFor('the retry', () => lines.find((l) => String(l.msg).startsWith('mirror:')));
    assert.equal(line.msg, 'mirror: a Bitcoin attestation cannot be confirmed yet; retrying');
    assert.match(
      String(line.error),
      /Bitcoin block 950000 is past the upstream's headers \(they end at 897119\)/,
    );
    await waitFor('the waiting state', () =>
      mirror.mirror?.status().state === 'waiting' ? true : undefined,
    );
    assert.match(mirror.mirror?.status().waiting ?? '', /past the upstream's headers/);
    assert.equal(mirror.mirror?.status().refusals, 0);
    assert.equal(mirror.calendar.journal.head.records, 0);
  });

  it('otsd verify-journal --upstream finds the forged proof a mirror that checked nothing kept', async (t) => {
    // what a mirror that ran an older otsd without a node, or with insecure-none, may hold
    const { upstream, root } = await forgingCalendar(t);
    upstream.headers = forgeChain(HEIGHT, root, 0x207fffff, true);
    const dataDir = tempDir(t);
    const trusting = await startTestNode(t, {
      dataDir,
      mirrorOf: upstream.url,
      mirrorHeaders: 'insecure-none',
    });
    await waitFor('the insecure mirror to copy the forgery', () =>
      trusting.calendar.journal.head.records === 4 ? true : undefined,
    );
    const structure = await runCliAsync(['verify-journal', dataDir]);
    assert.equal(structure.status, 0, structure.stderr);
    const rechecked = await runCliAsync(['verify-journal', dataDir, '--upstream', upstream.url]);
    assert.equal(rechecked.status, 1, rechecked.stdout);
    assert.match(
      rechecked.stderr,
      /^otsd: journal invalid: record 3: Bitcoin header 800000 from the upstream claims a target easier than the network allows\n$/,
    );
    // a network a header proves too little on is refused, as a mirror refuses it
    const testnet = await runCliAsync([
      'verify-journal',
      dataDir,
      '--upstream',
      upstream.url,
      '--bitcoin-network',
      'test',
    ]);
    assert.equal(testnet.status, 1);
    assert.match(testnet.stderr, /cannot check Bitcoin attestations on test/);
  });
});
