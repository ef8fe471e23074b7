/**
 * Checks Bitcoin attestations without a node, anchored to the compiled-in checkpoints (see
 * checkpoints/): the merkle root of the block at a height is taken only from a header that hash-links
 * to something the mirror trusts.
 *
 * - At or before the last checkpoint: the headers from the attested block to the next checkpoint must
 *   each carry their proof of work and name the one before, and the last must be the checkpoint. The
 *   checkpoint's hash commits to every block before it, so nothing but the real chain links to it.
 * - After the last checkpoint: the headers from the last checkpoint on must link to it, carry their
 *   work (on mainnet at exactly the target the retarget rule sets), and reach CONFIRMATIONS blocks
 *   from the attested one. A forger must mine at least that many blocks at the real difficulty (and
 *   every block since the checkpoint): see docs/mirroring.md for why 6.
 *
 * Verified merkle roots are cached (bounded), and the verified chain past the last checkpoint grows as
 * the mirror goes: every verified period end becomes an anchor, so no header is fetched twice while it
 * is cached, and never more than one period back.
 * @module
 */
import { BlockHeader, equalBytes, sha256d, toHex } from '../ots/index.js';
import type { Anchor, ChainRules } from './checkpoints/index.js';
import type { HeaderCheck } from './header-check.js';
import { MirrorIntegrityError } from './integrity-error.js';
import {
  bitsFromTarget,
  hashValue,
  nextPeriodBits,
  RETARGET_INTERVAL,
  targetFromBits,
} from './proof-of-work.js';

/**
 * Blocks of work, the attested one included, required after the last checkpoint: as many as a
 * calendar waits for by default (--min-confirmations 6) and as Bitcoin users do, so an honest proof is
 * accepted as soon as it is written.
 */
export const CONFIRMATIONS = 6;
/** Headers asked for at once (what GET /bitcoin/headers serves at most). */
const HEADERS_PER_REQUEST = 2000;
/** Merkle roots kept (about 100 bytes each). */
const MAX_CACHED_ROOTS = 50_000;

/** Up to `count` 80-byte headers from height `from` (fewer at the tip), from a source that checked their network. */
export type HeaderSource = (from: number, count: number) => Promise<Uint8Array[]>;

interface Verified {
  height: number;
  hash: string;
  bits: number;
  time: number;
  merkleRoot: Uint8Array;
  /** Time of the first block of this block's period, when seen. */
  periodStartTime: number | undefined;
  /** nBits the next block must carry (exact-bits networks), when known. */
  bitsAfter: number | undefined;
}

/** Checks headers one after another: proof of work, the link to the one before, and nBits. */
class Walk {
  private previous: Verified | undefined;
  constructor(
    private readonly rules: ChainRules,
    private readonly start: { height: number; prevHash?: string; bits?: number; periodStartTime?: number },
  ) {}

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
    if (this.rules.exactBits) {
      const expected = !previous ? this.start.bits : periodStart ? previous.bitsAfter : previous.bits;
      if (expected !== undefined && header.bits !== expected) {
        fail(`has nBits ${hex(header.bits)} where the chain requires ${hex(expected)}`);
      }
      if (expected === undefined && previous && periodStart) {
        // a retarget whose period began before what was fetched (only with hand-made checkpoints)
        const ratio = Number(target) / Number(targetFromBits(previous.bits));
        if (ratio > 4 || ratio < 0.25) fail('changes the target by more than the retarget allows');
      }
    }
    const periodStartTime = periodStart
      ? header.time
      : (previous?.periodStartTime ?? this.start.periodStartTime);
    const bits = header.bits;
    const bitsAfter = !this.rules.exactBits
      ? undefined
      : (height + 1) % RETARGET_INTERVAL !== 0
        ? bits
        : periodStartTime === undefined
          ? undefined
          : nextPeriodBits({ bits, time: header.time }, periodStartTime, this.rules.powLimit);
    this.previous = {
      height,
      hash: toHex(sha256d(raw)),
      bits,
      time: header.time,
      merkleRoot: header.merkleRoot.slice(),
      periodStartTime,
      bitsAfter,
    };
    return this.previous;
  }
}

const hex = (bits: number) => `0x${bits.toString(16).padStart(8, '0')}`;

export class CheckpointedChain {
  private readonly anchors: Anchor[];
  /** The newest verified header past the anchors with CONFIRMATIONS blocks on it. */
  private tip: (Anchor & { periodStartTime: number | undefined }) | undefined;
  private readonly roots = new Map<number, Uint8Array>();

  constructor(
    private readonly rules: ChainRules,
    private readonly source: HeaderSource,
    private readonly confirmations = CONFIRMATIONS,
  ) {
    this.anchors = [...rules.checkpoints];
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
    const sameOrNextPeriod =
      below && Math.floor((below.height + 1) / RETARGET_INTERVAL) === Math.floor(height / RETARGET_INTERVAL);
    const walk = new Walk(this.rules, {
      height,
      ...(sameOrNextPeriod && below?.bitsAfter !== undefined && { bits: below.bitsAfter }),
    });
    const verified: Verified[] = [];
    for (let from = height; from <= anchor.height; ) {
      const count = Math.min(HEADERS_PER_REQUEST, anchor.height - from + 1);
      const headers = await this.source(from, count);
      if (headers.length !== count) {
        throw new MirrorIntegrityError(
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

  /** Verifies the chain from the last anchor to `height` and CONFIRMATIONS - 1 blocks after it. */
  private async extend(height: number): Promise<Uint8Array> {
    const start = this.tip ?? this.anchors.at(-1) ?? this.genesisAnchor();
    if (!start)
      throw new MirrorIntegrityError(`no checkpoint of ${this.rules.network} to check headers from`);
    const walk = new Walk(this.rules, {
      height: start.height + 1,
      prevHash: start.hash,
      ...(start.bitsAfter !== undefined && { bits: start.bitsAfter }),
      ...(this.tip?.periodStartTime !== undefined && { periodStartTime: this.tip.periodStartTime }),
    });
    const needed = height + this.confirmations - 1;
    const verified: Verified[] = [];
    for (let from = start.height + 1; from <= needed; ) {
      const count = Math.min(HEADERS_PER_REQUEST, needed - from + 1);
      const headers = await this.source(from, count);
      for (const raw of headers) verified.push(walk.push(raw));
      if (headers.length < count) break;
      from += count;
    }
    // what has enough blocks on it is verified for good; the rest may still be reorganised away
    const settled = verified.slice(0, Math.max(0, verified.length - this.confirmations + 1));
    for (const v of settled) {
      this.remember(v.height, v.merkleRoot);
      if ((v.height + 1) % RETARGET_INTERVAL === 0) {
        this.anchors.push({
          height: v.height,
          hash: v.hash,
          ...(v.bitsAfter !== undefined && { bitsAfter: v.bitsAfter }),
        });
      }
    }
    const last = settled.at(-1);
    if (last) {
      this.tip = {
        height: last.height,
        hash: last.hash,
        periodStartTime: last.periodStartTime,
        ...(last.bitsAfter !== undefined && { bitsAfter: last.bitsAfter }),
      };
    }
    const attested = settled.find((v) => v.height === height);
    if (!attested) {
      const top = start.height + verified.length;
      throw new Error(
        `Bitcoin block ${height} has ${Math.max(0, top - height + 1)} of the ${this.confirmations} confirmations a mirror without a node waits for (the upstream's headers end at ${top})`,
      );
    }
    return attested.merkleRoot;
  }

  /** Mainnet's genesis period has the easiest target; the anchor "before" block 0. */
  private genesisAnchor(): Anchor | undefined {
    return this.rules.exactBits
      ? { height: -1, hash: '00'.repeat(32), bitsAfter: bitsFromTarget(this.rules.powLimit) }
      : undefined;
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
