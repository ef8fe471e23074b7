/**
 * `otsd status`'s summary of collaborative stamping, from a node's JSON status: each master's state
 * and its last error whatever the state (a refused proof leaves a master "ok" until its deadline),
 * and the block until which commitments wait on a master.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatStatus } from '../../src/cli/status-command.js';

type StatusJson = Parameters<typeof formatStatus>[0];

const base: StatusJson = {
  version: '1.0.0',
  uri: 'https://slave.example.org',
  uptime_seconds: 60,
  waiting_digests: 0,
  last_minute: { rounds: 0, digests: 0 },
};

const master = (state: string, last_error: string | null) => ({
  url: `https://${state}.example.org`,
  state,
  consecutive_misses: state === 'ok' ? 0 : 3,
  open_delegations: 1,
  last_proof_blocks: state === 'ok' ? 5 : null,
  last_error,
});

const collaboration = (next_deadline: number | null) => ({
  masters: [
    master('ok', "block 120 has 1 confirmations in this calendar's chain, fewer than 3"),
    master('degraded', 'no proof by block 118'),
    master('down', null),
  ],
  max_wait_blocks: 31,
  next_deadline,
  delegations_in_flight: 3,
  waiting_commitments: 2,
  fallbacks: { down: 0, timeout: 1, bad_proof: 0, degraded: 0 },
  fallback_can_pay: true,
});

describe('otsd status on a calendar with masters', () => {
  it('prints each master with its last error, whatever its state, and the next deadline', () => {
    const lines = formatStatus({ ...base, collaboration: collaboration(124) }).split('\n');
    assert.deepEqual(
      lines.filter((l) => /^(master|delegations|fallbacks) /.test(l)),
      [
        "master       https://ok.example.org: ok, 1 open, last proof after 5 blocks; last error: block 120 has 1 confirmations in this calendar's chain, fewer than 3",
        'master       https://degraded.example.org: DEGRADED, 3 misses, 1 open; last error: no proof by block 118',
        'master       https://down.example.org: DOWN, 3 misses, 1 open',
        'delegations  3 in flight, 2 commitments waiting on a master until block 124',
        'fallbacks    down 0, timeout 1, bad_proof 0, degraded 0',
      ],
    );
  });

  it('names no deadline when nothing waits, nor for a node too old to publish one', () => {
    const { next_deadline: _, ...old } = collaboration(null);
    for (const c of [collaboration(null), old]) {
      const text = formatStatus({ ...base, collaboration: c });
      assert.match(text, /^delegations {2}3 in flight, 2 commitments waiting on a master$/m);
    }
  });
});
