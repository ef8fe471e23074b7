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
import { startTestNode } from '../helpers/calendar-node.js';
import { type ForgingUpstream, forgeChain, startForgingUpstream } from '../helpers/forging-upstream.js';
import { waitFor } from '../helpers/wait-for.js';

const HEIGHT = 800_000;

/** A calendar with 3 commitments and a forged proof of them: returns the proof's attested root. */
async function forgingCalendar(
  t: TestContext,
  extra: Attestation[] = [],
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
  attested.attestations.add(new BitcoinBlockHeaderAttestation(HEIGHT));
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
});
