/**
 * Checks Bitcoin attestations without a node, anchored to the compiled-in mainnet checkpoints (see
 * checkpoints/): the merkle root of the block at a height is taken only from a header that hash-links
 * to something the mirror trusts.
 *
 * - At or before the last checkpoint: the headers from the attested block to the next checkpoint must
 *   each carry their proof of work at the period's nBits and name the one before, and the last must
 *   be the checkpoint. The checkpoint's hash commits to every block before it, so nothing but the real
 *   chain links to it.
 * - After the last checkpoint: the headers from the last checkpoint on must link to it and follow
 *   Bitcoin's header rules: work at exactly the nBits the retarget rule sets, a time after the median
 *   of the 11 headers before, and no more than two hours past this machine's clock (a header past it
 *   is retried, not refused: the clock decides only when to accept, never what to refuse). The attested
 *   block and those after it must carry together the work of CONFIRMATIONS blocks at the target of the
 *   period after the last checkpoint. A forger can copy the real blocks since the checkpoint and bend
 *   the retarget with the times it gives its own, but must still do that much work: see
 *   docs/mirroring.md.
 *
 * Verified merkle roots are cached (bounded), and the verified chain past the last checkpoint grows as
 * the mirror goes: every verified period end becomes an anchor, so no header is fetched twice while it
 * is cached, and never more than one period back.
 * @module
 */
import { BlockHeader, equalBytes, sha256d, toHex } from '../ots/index.js';
import type { Anchor, ChainRules } from './checkpoints/index.js';
import { type HeaderCheck, NotYetConfirmedError } from './header-check.js';
import { MirrorIntegrityError } from './integrity-error.js';
import {
  bitsFromTarget,
  blockWork,
  hashValue,
  MAX_FUTURE_BLOCK_TIME,
  MEDIAN_TIME_SPAN,
  medianTime,
  nextPeriodBits,
  RETARGET_INTERVAL,
  targetFromBits,
} from './proof-of-work.js';

/**
 * Blocks of work, the attested one included, required after the last checkpoint: as many as a
 * calendar waits for by default (--min-confirmations 6) and as Bitcoin users do, so an honest proof is
 * accepted as soon as it is written (unless the difficulty fell since the last checkpoint).
 */
export const CONFIRMATIONS = 6;
/**
 * Blocks from the attested one on that must carry that work: a period. More than that, and the
 * headers' targets are far easier than the checkpoint's, which the real chain never was.
 */
const MAX_CONFIRMING_BLOCKS = RETARGET_INTERVAL;
/** Headers asked for at once (what GET /bitcoin/headers serves at most). */
const HEADERS_PER_REQUEST = 2000;
/** Merkle roots kept (about 100 bytes each). */
const MAX_CACHED_ROOTS = 50_000;

/** Up to `count` 80-byte headers from height `from` (fewer at the tip, none past it), from a source that checked their network. */
export type HeaderSource = (from: number, count: number) => Promise<Uint8Array[]>;

interface Verified {
  height: number;
  hash: string;
  bits: number;
  time: number;
  work: bigint;
  merkleRoot: Uint8Array;
  /** Time of the first block of this block's period, when seen. */
  periodStartTime: number | undefined;
  /** nBits the next block must carry, when known. */
  bitsAfter: number | undefined;
}

/** The newest verified header past the anchors with the required work on it, and what the next needs. */
interface Tip extends Anchor {
  periodStartTime: number | undefined;
  /** Times of the MEDIAN_TIME_SPAN headers up to it (fewer when fewer were seen), the newest last. */
  recentTimes: readonly number[];
}

interface WalkStart {
  height: number;
  prevHash?: string;
  bits?: number;
  periodStartTime?: number;
  /** Times of the headers before `height`, the newest last: once 11 are known, each header must be after their median. */
  recentTimes?: readonly number[];
  /** No header may be timed after this (unix seconds); unchecked when undefined. */
  latestTime?: number;
}

/** Checks headers one after another: proof of work, the link to the one before, nBits and time. */
class Walk {
  private previous: Verified | undefined;
  private readonly times: number[];

  constructor(
    private readonly rules: ChainRules,
    private readonly start: WalkStart,
  ) {
    this.times = (start.recentTimes ?? []).slice(-MEDIAN_TIME_SPAN);
  }

  push(raw: Uint8Array): Verified {
    const previous = this.previous;
    const height = previous ? previous.height + 1 : this.start.height;
    const fail = (why: string): never => {
      throw new MirrorIntegrityError(`Bitcoin header ${height} from the upstream ${why}`);
    };
    const header = new BlockHeader(raw);
    const target = targetFromBits(header.bits);
    if (target === 0n || target > this.rules.powLimit) fail('claims a target easier than the network allows');
    if (hashValue(raw) > target) fail('lacks its proof of work');
    const prevHash = previous?.hash ?? this.start.prevHash;
    if (prevHash !== undefined && toHex(header.prevBlockHash) !== prevHash) {
      fail(previous ? 'does not link to the one before it' : 'does not link to the verified chain');
    }
    const periodStart = height % RETARGET_INTERVAL === 0;
    const expected = !previous ? this.start.bits : periodStart ? previous.bitsAfter : previous.bits;
    if (expected !== undefined && header.bits !== expected) {
      fail(`has nBits ${hex(header.bits)} where the chain requires ${hex(expected)}`);
    }
    if (expected === undefined && previous && periodStart) {
      // a retarget whose period began before what was fetched (only with hand-made checkpoints)
      const ratio = Number(target) / Number(targetFromBits(previous.bits));
      if (ratio > 4 || ratio < 0.25) fail('changes the target by more than the retarget allows');
    }
    if (this.times.length === MEDIAN_TIME_SPAN && header.time <= medianTime(this.times)) {
      fail(`is timed ${header.time}, not after ${medianTime(this.times)}, the median of the 11 before it`);
    }
    const latest = this.start.latestTime;
    if (latest !== undefined && header.time > latest) {
      throw new NotYetConfirmedError(
        `Bitcoin header ${height} from the upstream is timed ${header.time}, more than two hours past this machine's clock (${latest - MAX_FUTURE_BLOCK_TIME}): taken once the clock reaches it`,
      );
    }
    this.times.push(header.time);
    if (this.times.length > MEDIAN_TIME_SPAN) this.times.shift();
    const periodStartTime = periodStart
      ? header.time
      : (previous?.periodStartTime ?? this.start.periodStartTime);
    const bitsAfter =
      (height + 1) % RETARGET_INTERVAL !== 0
        ? header.bits
        : periodStartTime === undefined
          ? undefined
          : nextPeriodBits(header, periodStartTime, this.rules.powLimit);
    this.previous = {
      height,
      hash: toHex(sha256d(raw)),
      bits: header.bits,
      time: header.time,
      work: blockWork(target),
      merkleRoot: header.merkleRoot.slice(),
      periodStartTime,
      bitsAfter,
    };
    return this.previous;
  }
}

const hex = (bits: number) => `0x${bits.toString(16).padStart(8, '0')}`;

export interface CheckpointedChainOptions {
  /** Blocks of work required after the last checkpoint (default CONFIRMATIONS). */
  confirmations?: number;
  /** This machine's clock, milliseconds (default Date.now). */
  now?: () => number;
}

export class CheckpointedChain {
  private readonly anchors: Anchor[];
  private tip: Tip | undefined;
  private readonly roots = new Map<number, Uint8Array>();
  private readonly confirmations: number;
  private readonly now: () => number;
  /** The work of one block at the target of the period after the last checkpoint. */
  private readonly blockUnit: bigint;

  constructor(
    private readonly rules: ChainRules,
    private readonly source: HeaderSource,
    options: CheckpointedChainOptions = {},
  ) {
    this.anchors = [...rules.checkpoints];
    this.confirmations = options.confirmations ?? CONFIRMATIONS;
    this.now = options.now ?? Date.now;
    this.blockUnit = blockWork(targetFromBits(this.lastAnchor().bitsAfter));
  }

  /** The merkle root of the block at `height`, from a header linked to the checkpoints. */
  async merkleRoot(height: number): Promise<Uint8Array> {
    if (!Number.isSafeInteger(height) || height < 0) {
      throw new MirrorIntegrityError(`Bitcoin attestation at height ${height}: not a height`);
    }
    const cached = this.roots.get(height);
    if (cached) {
      this.roots.delete(height);
      this.roots.set(height, cached);
      return cached;
    }
    const tip = this.tip && this.tip.height >= height ? this.tip : undefined;
    const above = this.anchors.find((a) => a.height >= height) ?? tip;
    return above ? this.linkTo(height, above) : this.extend(height);
  }

  /** Verifies `height` up to `anchor`, which must be the last of the headers. */
  private async linkTo(height: number, anchor: Anchor): Promise<Uint8Array> {
    const below = this.anchors.findLast((a) => a.height < height) ?? this.genesisAnchor();
    const samePeriod =
      Math.floor((below.height + 1) / RETARGET_INTERVAL) === Math.floor(height / RETARGET_INTERVAL);
    const walk = new Walk(this.rules, { height, ...(samePeriod && { bits: below.bitsAfter }) });
    const verified: Verified[] = [];
    for (let from = height; from <= anchor.height; ) {
      const count = Math.min(HEADERS_PER_REQUEST, anchor.height - from + 1);
      const headers = await this.source(from, count);
      if (headers.length !== count) {
        // a node still catching up answers so too: not proof of a lie
        throw new NotYetConfirmedError(
          `the upstream serves ${headers.length} headers from ${from} where the chain to block ${anchor.height} has ${anchor.height - from + 1}`,
        );
      }
      for (const raw of headers) verified.push(walk.push(raw));
      from += count;
    }
    if (verified.at(-1)?.hash !== anchor.hash) {
      throw new MirrorIntegrityError(
        `Bitcoin headers ${height}..${anchor.height} from the upstream do not reach the checkpoint at ${anchor.height}`,
      );
    }
    for (const v of verified) this.remember(v.height, v.merkleRoot);
    return (verified[0] as Verified).merkleRoot;
  }

  /**
   * Verifies the chain from the last anchor to `height` and on until the blocks from `height` carry
   * the required work (at most MAX_CONFIRMING_BLOCKS of them).
   */
  private async extend(height: number): Promise<Uint8Array> {
    const start: Tip = this.tip ?? { ...this.lastAnchor(), periodStartTime: undefined, recentTimes: [] };
    const walk = new Walk(this.rules, {
      height: start.height + 1,
      prevHash: start.hash,
      bits: start.bitsAfter,
      ...(start.periodStartTime !== undefined && { periodStartTime: start.periodStartTime }),
      recentTimes: start.recentTimes,
      latestTime: Math.floor(this.now() / 1000) + MAX_FUTURE_BLOCK_TIME,
    });
    const required = BigInt(this.confirmations) * this.blockUnit;
    const last = height + MAX_CONFIRMING_BLOCKS - 1;
    const verified: Verified[] = [];
    let work = 0n; // of the blocks from `height` on
    let end = height + this.confirmations - 1;
    for (let from = start.height + 1; from <= end; ) {
      const count = Math.min(HEADERS_PER_REQUEST, end - from + 1);
      const headers = await this.source(from, count);
      for (const raw of headers) {
        const v = walk.push(raw);
        verified.push(v);
        if (v.height >= height) work += v.work;
      }
      if (headers.length < count) break;
      from += count;
      const newest = verified.at(-1) as Verified;
      // short of the work: as many more blocks as the newest one's work says are missing
      if (from > end && work < required && end < last)
        end = Math.min(last, end + Number((required - work + newest.work - 1n) / newest.work));
    }
    const settled = this.settle(start, verified, required);
    const attested = settled[height - start.height - 1];
    if (attested) return attested.merkleRoot;
    const top = start.height + verified.length;
    if (top >= last) {
      throw new MirrorIntegrityError(
        `the ${MAX_CONFIRMING_BLOCKS} Bitcoin headers from ${height} on from the upstream carry the work of ${this.inBlocks(work)} blocks at the last checkpoint's target, not ${this.confirmations}`,
      );
    }
    throw new NotYetConfirmedError(
      top < height
        ? `Bitcoin block ${height} is past the upstream's headers (they end at ${top})`
        : `Bitcoin block ${height} has the work of ${this.inBlocks(work)} of the ${this.confirmations} blocks a mirror without a node waits for (the upstream's headers end at ${top})`,
    );
  }

  /**
   * Keeps, of `verified` (the headers after `start`), those with the required work on them (their own
   * included): their roots are cached, the period ends among them become anchors, the last the tip.
   */
  private settle(start: Tip, verified: readonly Verified[], required: bigint): Verified[] {
    let above = 0n;
    let count = verified.length;
    while (count > 0 && above < required) above += (verified[--count] as Verified).work;
    const settled = verified.slice(0, above >= required ? count + 1 : 0);
    for (const v of settled) {
      this.remember(v.height, v.merkleRoot);
      if ((v.height + 1) % RETARGET_INTERVAL === 0 && v.bitsAfter !== undefined) {
        this.anchors.push({ height: v.height, hash: v.hash, bitsAfter: v.bitsAfter });
      }
    }
    const last = settled.at(-1);
    if (last?.bitsAfter !== undefined) {
      this.tip = {
        height: last.height,
        hash: last.hash,
        bitsAfter: last.bitsAfter,
        periodStartTime: last.periodStartTime,
        recentTimes: [...start.recentTimes, ...settled.map((v) => v.time)].slice(-MEDIAN_TIME_SPAN),
      };
    }
    return settled;
  }

  /** `work` in blocks at the last checkpoint's target, to two decimals. */
  private inBlocks(work: bigint): string {
    return String(Number((work * 100n) / this.blockUnit) / 100);
  }

  private lastAnchor(): Anchor {
    return this.rules.checkpoints.at(-1) ?? this.genesisAnchor();
  }

  /** Genesis's period has the easiest target; the anchor "before" block 0. */
  private genesisAnchor(): Anchor {
    return { height: -1, hash: '00'.repeat(32), bitsAfter: bitsFromTarget(this.rules.powLimit) };
  }

  private remember(height: number, root: Uint8Array): void {
    this.roots.delete(height);
    this.roots.set(height, root);
    if (this.roots.size > MAX_CACHED_ROOTS) this.roots.delete(this.roots.keys().next().value as number);
  }
}

/** A HeaderCheck against a CheckpointedChain. */
export function checkpointedHeaderCheck(chain: CheckpointedChain): HeaderCheck {
  return async (height, merkleRoot) => {
    if (!equalBytes(await chain.merkleRoot(height), merkleRoot)) {
      throw new MirrorIntegrityError(
        `Bitcoin attestation at height ${height} does not match the block's merkle root`,
      );
    }
  };
}
