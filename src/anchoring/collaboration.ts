/**
 * Collaborative stamping: a source of proofs through master calendars' transactions. Each stamp cycle
 * the merkle tip of the pending commitments not given to a master yet is POSTed to every master in
 * parallel; each answer is checked as an aggregator checks its upstreams' (RemoteCalendar.submitChecked)
 * and journaled (a delegation record) before anything relies on it. Then the master is asked for the
 * proof on every block this calendar's node sees (and every poll interval besides); a proof is written,
 * as an ordinary proof record, only once it checks out against this calendar's own node
 * (master-proof.ts).
 *
 * The own transaction waits on a delegation until its deadline: the height at submission plus
 * `timeoutBlocks`. A master that mined is slow to confirm, not unresponsive, so the deadline moves
 * when this calendar's chain shows its transaction mined: to that block plus the master's published
 * confirmations (at most MAX_MASTER_CONFIRMATIONS) plus one, for the first transaction the master
 * names (any other it names later counts for nothing); to that block plus this calendar's own
 * confirmations plus one, for a proof refused only as too shallow yet (a master that waits for
 * fewer); back to the first when a reorg takes that block away. Never past the ceiling: submission
 * height + `timeoutBlocks` + max(MAX_MASTER_CONFIRMATIONS, own confirmations) + 1. After the deadline
 * the own transaction covers everything pending; a late proof is still taken, for LATE_PROOF_BLOCKS
 * after the first deadline, and the first proof written for a commitment is the one served. A master
 * that missed MISSES_BEFORE_DEGRADED times in a row (no proof by a deadline, an answer that does not
 * check, no answer) is still given each cycle's tip, but not waited on: one proof in time and it is
 * waited on again. A master whose published masters lead back to this calendar (a cycle) is given
 * nothing.
 *
 * A master can so delay this calendar's anchoring by at most that ceiling; whatever it says, it can
 * never stop it or make it spend more than it would alone.
 * @module
 */
import type { Logger } from 'pino';
import type { Calendar } from '../calendar/calendar.js';
import {
  type DelegationPayload,
  decodeDelegationPayload,
  encodeDelegationPayload,
} from '../journal/delegation-payload.js';
import { RecordKind } from '../journal/record.js';
import { reverseBytes, type Timestamp, toHex } from '../ots/index.js';
import {
  pendingCommitment,
  publicReason,
  RemoteCalendar,
  type RemoteLookup,
} from '../remote/calendar-client.js';
import type { AnchorNode } from './anchor-node.js';
import type { ChainPass, ProofSource, Prove } from './coordinator.js';
import { checkMasterProof, MasterProofError } from './master-proof.js';
import {
  cycleBack,
  MAX_MASTER_CONFIRMATIONS,
  type MasterFacts,
  readMasterFacts,
  sameCalendar,
} from './master-status.js';

/** Misses in a row after which a master is no longer waited on (as an aggregator stops waiting for an upstream). */
export const MISSES_BEFORE_DEGRADED = 3;
/** A proof that comes this many blocks after its first deadline is still taken; later, the delegation is dropped. */
export const LATE_PROOF_BLOCKS = 144;
/** A master's published masters (for the cycle check) are read again this often. */
const MASTER_FACTS_MAX_AGE_MS = 3600_000;

export type FallbackReason = 'down' | 'timeout' | 'bad_proof' | 'degraded';
export const FALLBACK_REASONS: readonly FallbackReason[] = ['down', 'timeout', 'bad_proof', 'degraded'];

/** What metrics count. */
export type CollaborationEvent =
  | { kind: 'submission'; master: string; outcome: 'accepted' | 'failed' }
  | { kind: 'fallback'; reason: FallbackReason }
  | { kind: 'proof'; master: string; blocks: number };

export interface CollaborationOptions {
  /** The masters' URLs. */
  masters: string[];
  /** Blocks after submission within which a master's proof must check out. */
  timeoutBlocks: number;
  /** Longest wait for one request to a master. */
  requestTimeoutMs: number;
  /** Besides on every new block, open delegations are asked this often. */
  pollIntervalMs: number;
  calendar: Calendar;
  node: Pick<AnchorNode, 'blockHeaderHex' | 'blockHash' | 'block'>;
  chain: { readonly height: number };
  minConfirmations: number;
  prove: Prove;
  userAgent: string;
  log: Pick<Logger, 'info' | 'warn' | 'error'>;
  onEvent?: (event: CollaborationEvent) => void;
  now?: () => number;
}

export const MASTER_STATES = ['ok', 'down', 'degraded', 'cycle'] as const;
/** ok: answering; down: its last answer failed; degraded: missed too often, not waited on; cycle: refused. */
export type MasterState = (typeof MASTER_STATES)[number];

export interface MasterStatus {
  url: string;
  state: MasterState;
  consecutiveMisses: number;
  openDelegations: number;
  /** Blocks from submission to the last proof that came in time. */
  lastProofBlocks: number | undefined;
  lastError: string | undefined;
  /** The calendars leading back to this one, when the state is `cycle`. */
  cycle: string[] | undefined;
}

export interface CollaborationStatus {
  masters: MasterStatus[];
  timeoutBlocks: number;
  /** The most blocks after submission a delegation is waited on: the ceiling of an extended deadline. */
  maxWaitBlocks: number;
  /** The earliest deadline of the delegations waited on (extended or not), if any. */
  nextDeadline: number | undefined;
  /** Open delegations (waited on or not). */
  delegationsInFlight: number;
  /** Commitments the own transaction leaves to a master for now (those proven since the last poll included). */
  waitingCommitments: number;
  fallbacks: Record<FallbackReason, number>;
}

interface Master {
  url: string;
  client: RemoteCalendar;
  consecutiveMisses: number;
  lastExchangeFailed: boolean;
  lastError: string | undefined;
  lastProofBlocks: number | undefined;
  facts: { read: MasterFacts; at: number } | undefined;
  cycle: string[] | undefined;
}

interface Delegation {
  record: number;
  commitments: number[];
  master: Master;
  /** The height at submission. */
  height: number;
  answer: Timestamp;
  /** The master's commitment: what its proof is asked for by. */
  commitment: Uint8Array;
  deadline: number;
  /** Its deadline passed without a proof: the own transaction covers it; a late proof is still taken. */
  expired: boolean;
  /** Why the master's last proof was refused. */
  problem: string | undefined;
  /** The block of this calendar's chain that holds the master's transaction: what the deadline moved for. */
  minedIn: { height: number; hash: string } | undefined;
  /**
   * The first transaction the master named as mined (any other it names later is ignored), the
   * highest block searched for it, and the block it was found in (the deadline moved once, then).
   */
  claim: { txid: string; searchedTo: number; minedAt: number | undefined } | undefined;
}

const TX_CLAIM = /^Timestamped by transaction ([0-9a-f]{64})/;

/** What a failed exchange with a master says on the public status: never the text the master sent. */

export class Collaboration implements ProofSource {
  private readonly o: CollaborationOptions;
  private readonly now: () => number;
  private readonly masters: Master[];
  /** Masters of resumed delegations that are no longer configured: asked for those proofs only. */
  private readonly former: Master[] = [];
  private readonly open = new Map<number, Delegation>();
  private waiting: Set<number> | undefined;
  private nextPollAt = 0;
  private readonly fallbacks: Record<FallbackReason, number> = {
    down: 0,
    timeout: 0,
    bad_proof: 0,
    degraded: 0,
  };

  constructor(options: CollaborationOptions) {
    this.o = options;
    this.now = options.now ?? Date.now;
    this.masters = options.masters.map((url) => this.master(url));
  }

  private master(url: string): Master {
    return {
      url,
      client: new RemoteCalendar(url, { timeoutMs: this.o.requestTimeoutMs, userAgent: this.o.userAgent }),
      consecutiveMisses: 0,
      lastExchangeFailed: false,
      lastError: undefined,
      lastProofBlocks: undefined,
      facts: undefined,
      cycle: undefined,
    };
  }

  private masterFor(url: string): Master {
    const known = [...this.masters, ...this.former].find((m) => sameCalendar(m.url, url));
    if (known) return known;
    const former = this.master(url);
    this.former.push(former);
    return former;
  }

  /** The delegations still open in the journal: asked again, deadlines counted from their heights. */
  async resume(): Promise<void> {
    for (const position of this.o.calendar.index.openDelegations()) {
      const record = await this.o.calendar.journal.readAt(position);
      this.add(position.number, decodeDelegationPayload(record.payload));
    }
    if (this.open.size > 0)
      this.o.log.info(
        {
          delegations: [...this.open.values()].map((d) => ({
            record: d.record,
            master: d.master.url,
            deadline: d.deadline,
          })),
        },
        'collaboration: asking masters for the open delegations',
      );
  }

  private add(record: number, payload: DelegationPayload): void {
    this.open.set(record, {
      record,
      commitments: payload.commitments,
      master: this.masterFor(payload.master),
      height: payload.height,
      answer: payload.answer,
      commitment: pendingCommitment(payload.answer),
      deadline: payload.height + this.o.timeoutBlocks,
      expired: false,
      problem: undefined,
      minedIn: undefined,
      claim: undefined,
    });
    this.waiting = undefined;
  }

  private remove(delegation: Delegation): void {
    this.open.delete(delegation.record);
    this.waiting = undefined;
  }

  /** The deadline before any extension: the height at submission plus `timeoutBlocks`. */
  private firstDeadline(d: Delegation): number {
    return d.height + this.o.timeoutBlocks;
  }

  /** The most blocks after submission a delegation is waited on, whatever the master says. */
  private maxWaitBlocks(): number {
    return this.o.timeoutBlocks + Math.max(MAX_MASTER_CONFIRMATIONS, this.o.minConfirmations) + 1;
  }

  /** The latest a deadline can be moved to. */
  private deadlineCeiling(d: Delegation): number {
    return d.height + this.maxWaitBlocks();
  }

  private degraded(master: Master): boolean {
    return master.consecutiveMisses >= MISSES_BEFORE_DEGRADED;
  }

  waitsOn(record: number): boolean {
    return this.waitingSet().has(record);
  }

  /** The commitments of delegations before their deadline, to masters not degraded. */
  private waitingSet(): Set<number> {
    if (!this.waiting) {
      this.waiting = new Set();
      for (const d of this.open.values()) {
        if (d.expired || this.degraded(d.master)) continue;
        for (const n of d.commitments) this.waiting.add(n);
      }
    }
    return this.waiting;
  }

  async afterPass(pass: ChainPass): Promise<boolean> {
    if (pass.height < 0) return false;
    let released = false;
    for (const d of [...this.open.values()]) {
      // counted from the deadline as it stands (a mined claim or a shallow proof may have moved it,
      // never past the ceiling): a delegation still waited on is never dropped without its fallback
      if (pass.height > Math.max(this.firstDeadline(d), d.deadline) + LATE_PROOF_BLOCKS) {
        if (!d.expired && this.expire(d, d.problem ? 'bad_proof' : 'timeout')) released = true;
        this.o.log.warn(
          { master: d.master.url, delegation: d.record },
          'collaboration: no proof a day of blocks after the deadline; giving the commitments to the next cycle',
        );
        this.remove(d);
      }
    }
    if (pass.newBlocks > 0) await this.dropReorgedOut();
    const now = this.now();
    if (this.open.size > 0 && (pass.newBlocks > 0 || now >= this.nextPollAt)) {
      this.nextPollAt = now + this.o.pollIntervalMs;
      released = await this.askMasters(pass.height);
    }
    for (const d of [...this.open.values()]) {
      if (!d.expired && pass.height >= d.deadline && this.expire(d, d.problem ? 'bad_proof' : 'timeout'))
        released = true;
      // proven by another source (the own transaction, another master) and past its deadline: nothing
      // more to learn. Until the deadline the master is still asked: a proof in time counts for it,
      // even when the own transaction was first (a degraded master is waited on again only so)
      if (d.expired && !this.pending(d)) this.remove(d);
    }
    return released;
  }

  /**
   * A block the deadline moved for that left this calendar's best chain (a reorg): the deadline is the
   * first again, and the claimed transaction is searched for anew.
   */
  private async dropReorgedOut(): Promise<void> {
    for (const d of this.open.values()) {
      if (!d.minedIn || d.expired) continue;
      const hash = await this.o.node.blockHash(d.minedIn.height).catch(() => undefined);
      if (hash === d.minedIn.hash) continue;
      this.o.log.warn(
        { master: d.master.url, delegation: d.record, block: d.minedIn, deadline: this.firstDeadline(d) },
        "collaboration: the master's block left this calendar's chain; deadline back to the first",
      );
      d.minedIn = undefined;
      d.deadline = this.firstDeadline(d);
      if (d.claim) d.claim = { ...d.claim, searchedTo: d.height - 1, minedAt: undefined };
    }
  }

  private pending(d: Delegation): boolean {
    return d.commitments.some((n) => this.o.calendar.index.isPending(n));
  }

  /**
   * Its deadline passed without the master's proof (or the master lost it): a miss. Whether the own
   * transaction is due now: the commitments were waited on and are still pending.
   */
  private expire(d: Delegation, reason: FallbackReason): boolean {
    const waited = !this.degraded(d.master) && this.pending(d);
    d.expired = true;
    this.waiting = undefined;
    this.miss(d.master, d.problem ?? `no proof by block ${d.deadline}`);
    if (!waited) return false;
    this.fallback(reason, {
      master: d.master.url,
      delegation: d.record,
      deadline: d.deadline,
      problem: d.problem,
    });
    return true;
  }

  private fallback(reason: FallbackReason, detail: object): void {
    this.fallbacks[reason]++;
    this.o.onEvent?.({ kind: 'fallback', reason });
    this.o.log.warn({ reason, ...detail }, 'collaboration: falling back to the own transaction');
  }

  private miss(master: Master, why: string): void {
    master.consecutiveMisses++;
    master.lastError = why;
    this.waiting = undefined;
    if (master.consecutiveMisses === MISSES_BEFORE_DEGRADED)
      this.o.log.warn(
        { master: master.url, misses: master.consecutiveMisses },
        'collaboration: master missed too often; still given each tip, but no longer waited on',
      );
  }

  /** Asks each master for each open delegation's proof; checks and writes what checks out. */
  private async askMasters(height: number): Promise<boolean> {
    const delegations = [...this.open.values()];
    const answers = await Promise.all(
      delegations.map((d) =>
        d.master.client.lookup(d.commitment).then(
          (answer): RemoteLookup | Error => answer,
          (e: unknown) => e as Error,
        ),
      ),
    );
    let released = false;
    // one at a time: a proof written is in the index before the next is weighed
    for (const [i, answer] of answers.entries()) {
      const d = delegations[i] as Delegation;
      if (answer instanceof Error) {
        d.master.lastExchangeFailed = true;
        d.master.lastError = publicReason(answer);
        continue;
      }
      d.master.lastExchangeFailed = false;
      if (answer.state === 'complete') await this.weigh(d, answer.timestamp, height);
      else if (answer.state === 'pending') await this.claimed(d, answer.reason, height);
      else {
        d.problem = 'the master no longer knows the commitment it gave';
        this.o.log.warn({ master: d.master.url, delegation: d.record }, `collaboration: ${d.problem}`);
        if (!d.expired && this.expire(d, 'bad_proof')) released = true;
        this.remove(d);
      }
    }
    return released;
  }

  /** A proof from the master: written once it checks out against this calendar's node. */
  private async weigh(d: Delegation, answer: Timestamp, height: number): Promise<void> {
    let proof: Timestamp;
    try {
      proof = await checkMasterProof(d.answer, answer, {
        height,
        minConfirmations: this.o.minConfirmations,
        node: this.o.node,
      });
    } catch (e) {
      // a master that waits for fewer confirmations than this calendar: mined, not lying
      if (e instanceof MasterProofError && e.minedAt !== undefined) {
        if (!d.expired) await this.extend(d, e.minedAt, this.o.minConfirmations, { proofAt: e.minedAt });
        return;
      }
      const problem = (e as Error).message;
      if (problem !== d.problem)
        this.o.log.warn(
          { master: d.master.url, delegation: d.record, problem },
          'collaboration: proof refused',
        );
      d.problem = problem;
      d.master.lastError = problem;
      return;
    }
    const written = await this.o.prove(d.commitments, proof, `master ${d.master.url}`);
    const blocks = height - d.height;
    if (!d.expired) {
      if (d.master.consecutiveMisses >= MISSES_BEFORE_DEGRADED)
        this.o.log.info({ master: d.master.url }, 'collaboration: master proved in time; waited on again');
      d.master.consecutiveMisses = 0;
      d.master.lastError = undefined;
      d.master.lastProofBlocks = blocks;
      this.o.onEvent?.({ kind: 'proof', master: d.master.url, blocks });
    } else {
      this.o.log.info(
        { master: d.master.url, delegation: d.record, blocks, written },
        'collaboration: a proof after the deadline',
      );
    }
    this.remove(d);
  }

  /**
   * The master says its transaction is mined: once this calendar's chain holds that transaction, the
   * deadline moves to give the master its confirmations (and this calendar its own) past that block.
   * Only the first transaction it names counts, so the deadline moves at most once: a master naming a
   * new block's transaction at every poll would otherwise move it for ever.
   */
  private async claimed(d: Delegation, reason: string, height: number): Promise<void> {
    const txid = TX_CLAIM.exec(reason)?.[1];
    if (!txid || d.expired) return;
    d.claim ??= { txid, searchedTo: d.height - 1, minedAt: undefined };
    const claim = d.claim;
    if (claim.txid !== txid || claim.minedAt !== undefined) return;
    // the blocks since submission not searched yet, newest first (a claim comes soon after its block)
    for (let h = height; h > claim.searchedTo && claim.minedAt === undefined; h--) {
      const block = await this.o.node.block(h, await this.o.node.blockHash(h));
      if (block.transactions.some((t) => toHex(reverseBytes(t.txid)) === txid)) claim.minedAt = h;
    }
    claim.searchedTo = height;
    if (claim.minedAt === undefined) return;
    const confirmations = Math.max(this.o.minConfirmations, d.master.facts?.read.minConfirmations ?? 0);
    await this.extend(d, claim.minedAt, confirmations, { txid });
  }

  /**
   * The master's transaction is in block `minedAt` of this calendar's chain: the deadline moves to
   * give it `confirmations` past that block, and one more block to fetch the proof, under the ceiling.
   */
  private async extend(d: Delegation, minedAt: number, confirmations: number, detail: object): Promise<void> {
    const deadline = Math.min(minedAt + confirmations + 1, this.deadlineCeiling(d));
    if (deadline <= d.deadline) return;
    d.minedIn = { height: minedAt, hash: await this.o.node.blockHash(minedAt) };
    this.o.log.info(
      { master: d.master.url, delegation: d.record, ...detail, minedAt, deadline },
      'collaboration: the master mined its transaction; deadline extended for its confirmations',
    );
    d.deadline = deadline;
  }

  async cycle(pending: readonly number[], height: number): Promise<void> {
    if (height < 0) return;
    const given = new Set<number>();
    for (const d of this.open.values()) for (const n of d.commitments) given.add(n);
    const commitments = pending.filter((n) => !given.has(n));
    if (commitments.length === 0) return;
    const targets: Master[] = [];
    for (const master of this.masters) if (await this.mayDelegateTo(master)) targets.push(master);
    if (targets.length === 0) {
      if (this.masters.some((m) => !m.cycle)) this.fallback('down', { why: 'no master could be reached' });
      return;
    }
    const tip = this.o.calendar.merkleTip(commitments);
    const answers = await Promise.all(
      targets.map((m) =>
        m.client.submitChecked(tip, { signal: AbortSignal.timeout(this.o.requestTimeoutMs) }).then(
          (a) => a,
          (e: unknown) => e as Error,
        ),
      ),
    );
    let waitedOn = 0;
    for (const [i, answer] of answers.entries()) {
      const master = targets[i] as Master;
      if (answer instanceof Error) {
        master.lastExchangeFailed = true;
        this.miss(master, publicReason(answer));
        this.o.onEvent?.({ kind: 'submission', master: master.url, outcome: 'failed' });
        this.o.log.warn(
          { master: master.url, error: answer.message },
          'collaboration: the master did not take the tip',
        );
        continue;
      }
      master.lastExchangeFailed = false;
      const payload = { commitments, height, master: master.url, answer: answer.timestamp };
      // journaled before anything relies on it: a restart asks the master again
      const stored = await this.o.calendar.journal.append(
        RecordKind.Delegation,
        encodeDelegationPayload(payload),
      );
      this.add(stored.number, payload);
      this.o.onEvent?.({ kind: 'submission', master: master.url, outcome: 'accepted' });
      if (!this.degraded(master)) waitedOn++;
    }
    if (waitedOn > 0) {
      this.o.log.info(
        { commitments: commitments.length, masters: waitedOn, deadline: height + this.o.timeoutBlocks },
        'collaboration: tip delegated',
      );
    } else if (answers.some((a) => !(a instanceof Error))) {
      this.fallback('degraded', { commitments: commitments.length });
    } else {
      this.fallback('down', { commitments: commitments.length });
    }
  }

  /**
   * Whether `master` may be given a tip: its published masters, read once an hour, do not lead back to
   * this calendar. A master whose status cannot be read is given nothing until it can (it counts as a
   * miss, as a refused submission would).
   */
  private async mayDelegateTo(master: Master): Promise<boolean> {
    if (master.facts && this.now() - master.facts.at < MASTER_FACTS_MAX_AGE_MS) return !master.cycle;
    const signal = AbortSignal.timeout(this.o.requestTimeoutMs);
    let facts: MasterFacts;
    try {
      facts = await readMasterFacts(master.client, signal);
    } catch (e) {
      master.lastExchangeFailed = true;
      this.miss(master, publicReason(e as Error));
      this.o.onEvent?.({ kind: 'submission', master: master.url, outcome: 'failed' });
      this.o.log.warn(
        { master: master.url, error: (e as Error).message },
        'collaboration: the master cannot be reached',
      );
      return false;
    }
    master.facts = { read: facts, at: this.now() };
    const was = master.cycle;
    master.cycle = await cycleBack(this.o.calendar.uri, master.url, facts, (url) =>
      readMasterFacts(
        new RemoteCalendar(url, { timeoutMs: this.o.requestTimeoutMs, userAgent: this.o.userAgent }),
        signal,
      ),
    );
    if (master.cycle && !was)
      this.o.log.error(
        { master: master.url, cycle: [this.o.calendar.uri, ...master.cycle] },
        'collaboration: delegating to this master would close a cycle back to this calendar; not delegating to it',
      );
    return !master.cycle;
  }

  status(): CollaborationStatus {
    const open = [...this.open.values()];
    return {
      masters: this.masters.map((m) => ({
        url: m.url,
        state: m.cycle ? 'cycle' : this.degraded(m) ? 'degraded' : m.lastExchangeFailed ? 'down' : 'ok',
        consecutiveMisses: m.consecutiveMisses,
        openDelegations: open.filter((d) => d.master === m).length,
        lastProofBlocks: m.lastProofBlocks,
        lastError: m.lastError,
        cycle: m.cycle,
      })),
      timeoutBlocks: this.o.timeoutBlocks,
      maxWaitBlocks: this.maxWaitBlocks(),
      nextDeadline: open
        .filter((d) => !d.expired && !this.degraded(d.master))
        .reduce<number | undefined>((min, d) => Math.min(min ?? d.deadline, d.deadline), undefined),
      delegationsInFlight: open.length,
      waitingCommitments: this.waitingSet().size,
      fallbacks: { ...this.fallbacks },
    };
  }
}
