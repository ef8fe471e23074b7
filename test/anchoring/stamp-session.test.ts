/** The own-transaction state machine, without a node: each scenario is a list of steps and what they give. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BlockRef } from '../../src/anchoring/scan-state.js';
import {
  type ChainView,
  type Effect,
  StampSession,
  type Version,
} from '../../src/anchoring/stamp-session.js';
import { NETWORKS } from '../../src/bitcoin/network.js';
import { buildStampTx } from '../../src/bitcoin/stamp-tx.js';
import { walletKeyFromPrivate } from '../../src/bitcoin/wallet-key.js';
import { parseTransaction, sha256, toHex } from '../../src/ots/index.js';

const key = walletKeyFromPrivate(new Uint8Array(32).fill(1), NETWORKS.regtest);
const input = { txid: sha256(new Uint8Array([1])), index: 0, value: 1_000_000n };

function version(feeRate: number): Version {
  const tip = sha256(new Uint8Array([feeRate]));
  const built = buildStampTx({ input, tip, feeRate, lockTime: 100, key });
  return {
    record: feeRate,
    commitments: [feeRate],
    tip,
    tx: parseTransaction(built.raw),
    raw: built.raw,
    fee: Number(built.fee),
    feeRate,
  };
}

const v1 = version(2);
const v2 = version(4);
const v3 = version(8);
const block: BlockRef = { height: 101, hash: 'ab'.repeat(32) };

/** A chain at `height`, `newBlocks` added by the last pass, with `mined` in `block`. */
const chain = (height: number, newBlocks: number, mined: Version[] = []): ChainView => ({
  height,
  newBlocks,
  minedAt: (txid) => (mined.some((v) => toHex(v.tx.txid) === toHex(txid)) ? block : undefined),
});

type Step = [
  what: string,
  act: (s: StampSession) => Effect | undefined,
  effect: Effect['kind'] | undefined,
  state: 'idle' | 'in-flight' | 'mined',
];

const rules = { minConfirmations: 2, rebroadcastMs: 30_000 };

function run(steps: Step[]): void {
  const session = new StampSession(rules);
  for (const [what, act, effect, state] of steps) {
    const got = act(session);
    if (effect !== undefined) assert.equal(got?.kind, effect, `${what}: effect`);
    assert.equal(session.state.kind, state, `${what}: state`);
  }
}

describe('stamp session', () => {
  it('idle: starts only when due', () =>
    run([
      ['nothing due', (s) => s.next(chain(100, 1), 0, false), 'none', 'idle'],
      ['due', (s) => s.next(chain(100, 0), 0, true), 'start', 'idle'],
      ['sent', (s) => void s.sent(v1), undefined, 'in-flight'],
    ]));

  it('in flight: a replacement on each new block, a resend when the mempool may have lost it', () =>
    run([
      ['sent', (s) => void s.sent(v1), undefined, 'in-flight'],
      ['broadcast', (s) => void s.broadcast(v1, 1_000), undefined, 'in-flight'],
      ['no block, just sent', (s) => s.next(chain(100, 0), 10_000, true), 'none', 'in-flight'],
      ['no block, 30 s later', (s) => s.next(chain(100, 0), 31_001, true), 'rebroadcast', 'in-flight'],
      ['a block without it', (s) => s.next(chain(101, 1), 32_000, true), 'bump', 'in-flight'],
      ['the replacement', (s) => void s.sent(v3), undefined, 'in-flight'],
      ['broadcast', (s) => void s.broadcast(v3, 33_000), undefined, 'in-flight'],
      // everything it covers proven by another source, nothing else pending: left as it is
      ['a block, no bump wanted', (s) => s.next(chain(102, 1), 34_000, false, false), 'none', 'in-flight'],
      [
        'later, resent if lost',
        (s) => s.next(chain(102, 0), 64_000, false, false),
        'rebroadcast',
        'in-flight',
      ],
    ]));

  it('the latest version is the one replaced and resent', () => {
    const session = new StampSession(rules);
    session.sent(v1);
    session.sent(v2);
    const effect = session.next(chain(101, 1), 0, false);
    assert.equal(effect.kind === 'bump' && effect.latest, v2);
    assert.deepEqual(session.versions, [v1, v2]);
  });

  it('mined: never replaced; proved once deep enough; whichever version is in the block', () => {
    const session = new StampSession(rules);
    session.sent(v1);
    session.sent(v2);
    assert.equal(session.next(chain(101, 1, [v1]), 0, true).kind, 'none', 'one confirmation of two');
    assert.equal(session.mined?.version, v1);
    const effect = session.next(chain(102, 1, [v1]), 0, true);
    assert.deepEqual(effect, { kind: 'prove', version: v1, at: block });
    assert.equal(session.proved(), v1);
    assert.equal(session.state.kind, 'idle');
    assert.deepEqual(session.versions, []);
  });

  it('a reorg that takes the block away makes it in flight again', () =>
    run([
      ['sent', (s) => void s.sent(v1), undefined, 'in-flight'],
      ['broadcast', (s) => void s.broadcast(v1, 0), undefined, 'in-flight'],
      ['mined', (s) => s.next(chain(101, 1, [v1]), 1, true), 'none', 'mined'],
      ['its block left the chain', (s) => s.next(chain(100, 0), 2, true), 'none', 'in-flight'],
      ['a new block without it', (s) => s.next(chain(101, 1), 3, true), 'bump', 'in-flight'],
    ]));

  it('proved only from mined; abandoned from anywhere', () => {
    const session = new StampSession(rules);
    session.sent(v1);
    assert.throws(() => session.proved(), /proved while in-flight/);
    session.abandoned();
    assert.equal(session.state.kind, 'idle');
  });

  it('resumes the versions read back from the journal', () => {
    const session = new StampSession(rules);
    session.resume([v1, v2]);
    assert.equal(session.state.kind, 'in-flight');
    const effect = session.next(chain(100, 0), 0, false);
    assert.equal(effect.kind === 'rebroadcast' && effect.latest, v2, 'sent again: not sent since start');
    session.resume([]);
    assert.equal(session.state.kind, 'idle');
  });
});
