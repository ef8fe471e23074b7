/**
 * The anchoring coordinator: the calendar's pending commitments on their way into Bitcoin. Each poll it
 * follows the chain once, then lets every other source of proofs work (a master calendar that takes
 * the calendar's tips into its own transactions), decides which pending commitments may wait on such
 * a source, and tells the calendar's own transaction (the stamper: always there, the fallback of every
 * other source) whether it is due and whether a replacement is wanted.
 *
 * Every proof, whatever its source, is written through `prove`: a proof that adds nothing (each of
 * its commitments is proven already) is not written, and of the others the first for a commitment is
 * the one served (see Calendar.lookup).
 *
 * A stamp cycle comes every stamp interval on average (each wait drawn from [interval/2,
 * interval*3/2], so a transaction's time says little about who submitted what): every source is
 * offered what is pending; the own transaction is due at once when pending commitments are left that
 * no source waits on, and again whenever a source's wait ends without a proof. Polls run in the
 * background from `start()`, which reads only the journal: start-up never waits for the chain.
 * @module
 */
import { RpcError } from '../bitcoin/rpc-client.js';
import type { Timestamp } from '../ots/index.js';
import { PrunedNodeError, type ScanProgress } from './chain-follower.js';
import type { FeePolicy } from './fee-policy.js';
import { oldestPending } from './oldest-pending.js';
import { type InFlightStatus, Stamper, type StamperOptions } from './stamper.js';

/** A pass over the chain, as the sources see it. */
export interface ChainPass {
  /** The last block read. */
  height: number;
  /** Blocks added by this pass. */
  newBlocks: number;
}

/**
 * A source of proofs besides the own transaction. It writes its proofs through the coordinator's
 * `prove`, and says which commitments the own transaction may leave to it for now.
 */
export interface ProofSource {
  /** Reads from the journal what it was waiting on; never waits for the chain. */
  resume(): Promise<void>;
  /**
   * Its work after a pass over the chain (asking, checking, proving). Resolves to true when a wait
   * ended without a proof: the own transaction is due at once.
   */
  afterPass(pass: ChainPass): Promise<boolean>;
  /**
   * A stamp cycle: `pending` is every pending commitment record the own transaction does not cover
   * already; the source takes those it was not given yet.
   */
  cycle(pending: readonly number[], height: number): Promise<void>;
  /** Whether the own transaction may leave commitment record `record` to this source for now. */
  waitsOn(record: number): boolean;
  /** Its work after the own transaction's step of the same poll (what that step sent is known then). */
  afterStep?(pass: ChainPass): Promise<void>;
  /** The newest tip it offers for anyone's transaction to commit to (GET /tip), if it offers any. */
  offeredTip?(): Uint8Array | undefined;
  /** The reference's 404 text for a commitment whose proof through this source is on its way. */
  describePending?(record: number): string | undefined;
}

/** The own transaction's settings (the stamper is built here), and the coordinator's own. */
export interface CoordinatorOptions extends Omit<StamperOptions, 'prove'> {
  /** How often the chain is polled. */
  pollMs?: number;
  /** Warn when commitments have been pending longer than this without an anchor. */
  lagWarningMs?: number;
  /** Builds the other sources, given the way to write their proofs and the own transaction. */
  sources?: (prove: Prove, own: Stamper) => ProofSource[];
}

/** Writes a proof of `commitments` (ascending) unless every one is proven already; true when written. */
export type Prove = (commitments: number[], tip: Timestamp, source: string) => Promise<boolean>;

/** What the status page and metrics show about anchoring. */
export interface AnchoringStatus {
  address: string;
  pendingCommitments: number;
  /** Seconds since the last proof was written, or undefined when none was written since start. */
  lastAnchorAgeSeconds: number | undefined;
  inFlight: InFlightStatus | undefined;
  feesSpentSats: number;
  balanceSats: number;
  /** Whether the key holds an output the own transaction can spend now. */
  canPay: boolean;
  /** The last block the stamper has read (-1 before the first). */
  chainHeight: number;
  chainScan: ScanProgress;
  lastError: string | undefined;
}

/** The same failure is logged again at most this often; the status page shows it meanwhile. */
const REPEAT_FAILURE_LOG_MS = 10 * 60_000;
/** How long stop() waits for a poll in progress (a long scan of the node's UTXO set is left behind). */
const STOP_WAIT_MS = 10_000;

export class AnchoringCoordinator {
  private readonly o: CoordinatorOptions;
  private readonly now: () => number;
  /** The calendar's own transaction. */
  readonly stamper: Stamper;
  private readonly sources: ProofSource[];
  private nextCycleAt: number;
  /** The own transaction is due over what no source waits on (retried until it goes out). */
  private ownDue = false;
  private lastAnchorAt: number | undefined;
  /** Why the last poll failed (usually the node); cleared by the next one that succeeds. */
  private pollFailure: string | undefined;
  private lastLoggedFailure: { message: string; at: number } | undefined;
  private lastLagWarning = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly stopping = new AbortController();
  private readonly startedAt: number;

  constructor(options: CoordinatorOptions) {
    this.o = options;
    this.now = options.now ?? Date.now;
    this.startedAt = this.now();
    const prove: Prove = (commitments, tip, source) => this.prove(commitments, tip, source);
    this.stamper = new Stamper({
      ...options,
      prove: (commitments, tip) => prove(commitments, tip, 'own transaction'),
    });
    this.sources = options.sources?.(prove, this.stamper) ?? [];
    this.nextCycleAt = this.now() + this.stampWait();
  }

  private stampWait(): number {
    return this.o.stampIntervalMs * (0.5 + Math.random());
  }

  /** Reads what is in flight from the journal, then polls the chain in the background until stopped. */
  async start(): Promise<void> {
    await this.stamper.resume();
    for (const source of this.sources) await source.resume();
    const loop = async () => {
      if (this.stopping.signal.aborted) return;
      this.running = this.tick().then(
        () => {
          this.pollFailure = undefined;
        },
        (e: unknown) => this.pollFailed(e),
      );
      await this.running;
      if (!this.stopping.signal.aborted) this.timer = setTimeout(loop, this.o.pollMs ?? 1000);
    };
    this.timer = setTimeout(loop, 0);
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    clearTimeout(this.timer);
    let waited: NodeJS.Timeout | undefined;
    await Promise.race([
      this.running,
      new Promise((resolve) => (waited = setTimeout(resolve, STOP_WAIT_MS))),
    ]);
    clearTimeout(waited);
  }

  /** Changes fee caps while running (SIGHUP); the next version built follows them. */
  updateFees(fees: Partial<FeePolicy>): void {
    this.stamper.updateFees(fees);
  }

  /** The reference's 404 text for a commitment in a mined transaction that is not final yet. */
  describePending(record: number): string | undefined {
    for (const source of this.sources) {
      const text = source.describePending?.(record);
      if (text) return text;
    }
    return this.stamper.describePending(record);
  }

  /** The newest tip a source offers (external stamping), else the own transaction's newest version's (GET /tip). */
  currentTip(): Uint8Array | undefined {
    for (const source of this.sources) {
      const tip = source.offeredTip?.();
      if (tip) return tip;
    }
    return this.stamper.currentTip();
  }

  status(): AnchoringStatus {
    return {
      address: this.stamper.address,
      pendingCommitments: this.o.calendar.index.pendingCount,
      lastAnchorAgeSeconds:
        this.lastAnchorAt === undefined ? undefined : Math.floor((this.now() - this.lastAnchorAt) / 1000),
      inFlight: this.stamper.inFlightStatus(),
      feesSpentSats: this.stamper.feesSpentSats,
      balanceSats: Number(this.stamper.balance()),
      canPay: this.stamper.canPay(),
      chainHeight: this.o.chain.height,
      chainScan: this.o.chain.progress(),
      lastError: this.pollFailure ?? this.stamper.problem,
    };
  }

  private async prove(commitments: number[], tip: Timestamp, source: string): Promise<boolean> {
    const { calendar, log } = this.o;
    if (!commitments.some((n) => calendar.index.isPending(n))) {
      log.info(
        { source, commitments: commitments.length },
        'anchoring: proof not written: another proved every commitment first',
      );
      return false;
    }
    await calendar.addProof(commitments, tip);
    this.lastAnchorAt = this.now();
    log.info({ source, commitments: commitments.length }, 'anchoring: proof written');
    return true;
  }

  private waitedOn(record: number): boolean {
    return this.sources.some((s) => s.waitsOn(record));
  }

  /** The first pending commitment no source waits on, if any. */
  private firstFree(): number | undefined {
    for (const record of this.o.calendar.index.pendingRecords()) if (!this.waitedOn(record)) return record;
    return undefined;
  }

  /** One poll: follow the chain, let the sources work, a stamp cycle when due, then the own transaction. */
  private async tick(): Promise<void> {
    const { connected } = await this.o.chain.sync(this.stopping.signal);
    if (this.stopping.signal.aborted) return;
    this.warnOnLag();
    const pass: ChainPass = { height: this.o.chain.height, newBlocks: connected };
    for (const source of this.sources) {
      if (await source.afterPass(pass)) this.ownDue = true;
    }
    // a cycle that finds nothing pending waits for the first commitment, which then goes at once
    if (this.now() >= this.nextCycleAt && this.o.calendar.index.pendingCount > 0) {
      this.nextCycleAt = this.now() + this.stampWait();
      // what the own transaction in flight covers is not offered again: it pays for them already
      const covered = this.stamper.coveredRecords();
      const offered = oldestPending(this.o.calendar.index, (n) => covered.has(n));
      if (offered.length > 0) for (const source of this.sources) await source.cycle(offered, pass.height);
      // what the cycle offered and no source took; commitments that came meanwhile wait for the next
      if (offered.some((n) => !this.waitedOn(n))) this.ownDue = true;
    }
    const free = this.firstFree() !== undefined;
    if (!free || this.stamper.inFlight) this.ownDue = false;
    const outcome = await this.stamper.step(pass, { startDue: this.ownDue, bumpWanted: free });
    for (const source of this.sources) await source.afterStep?.(pass);
    if (outcome === 'started') this.ownDue = false;
    // what it covered is pending again, and nothing is in flight: a new transaction at once
    if (outcome === 'abandoned') this.ownDue = true;
    // as many commitments as possible in each transaction: the next cycle a whole interval after a proof
    if (outcome === 'proved') this.nextCycleAt = this.now() + this.stampWait();
  }

  private pollFailed(e: unknown): void {
    const message = (e as Error).message;
    this.pollFailure = message;
    const now = this.now();
    const last = this.lastLoggedFailure;
    if (last?.message === message && now - last.at < REPEAT_FAILURE_LOG_MS) return;
    this.lastLoggedFailure = { message, at: now };
    // the node's failures are expected (it restarts, it is pruned): one line each, no stack
    const expected = e instanceof RpcError || e instanceof PrunedNodeError;
    this.o.log.error(expected ? { error: message } : { err: e }, 'stamper: poll failed');
  }

  private warnOnLag(): void {
    const lag = this.o.lagWarningMs;
    const pending = this.o.calendar.index.pendingCount;
    if (!lag || pending === 0) return;
    const since = this.lastAnchorAt ?? this.startedAt;
    if (this.now() - since > lag && this.now() - this.lastLagWarning > lag) {
      this.lastLagWarning = this.now();
      this.o.log.warn(
        {
          pending,
          secondsSinceAnchor: Math.floor((this.now() - since) / 1000),
          lastError: this.status().lastError,
        },
        'stamper: anchoring lags',
      );
    }
  }
}
