/**
 * Follows a calendar's journal into a local one: downloads chunks from the local head onward,
 * checks every chain hash and every record, appends them, then long-polls for the next records. A
 * mirror runs it; a client can too, to keep its own verified copy of a calendar.
 * @module
 */
import type { Calendar } from '../calendar/calendar.js';
import { CHUNK_RECORDS, parseChunk } from '../journal/chunk.js';
import { decodeProofPayload } from '../journal/proof-payload.js';
import { RecordKind } from '../journal/record.js';
import type { ScannedRecord } from '../journal/scan.js';
import { decodeStampPayload } from '../journal/stamp-payload.js';
import {
  BitcoinBlockHeaderAttestation,
  equalBytes,
  fromHex,
  MerkleTree,
  parseTransaction,
  sha256,
  toHex,
} from '../ots/index.js';

/** Chunks downloaded at once while catching up: their records are appended in one group. */
const PREFETCH_CHUNKS = 8;

/** The upstream's journal is not a continuation of ours, or holds a record that does not check out. */
export class MirrorIntegrityError extends Error {
  override name = 'MirrorIntegrityError';
}

export interface UpstreamHead {
  records: number;
  chainHash: string;
}

/** Checks a Bitcoin attestation: that `merkleRoot` is the merkle root of the block at `height`. */
export type HeaderCheck = (height: number, merkleRoot: Uint8Array) => Promise<void>;

export interface FollowerOptions {
  upstream: string;
  /** The local calendar: its journal receives the records, its index checks proofs. */
  calendar: Calendar;
  /** Verifies Bitcoin attestations against a node; without it they are checked for shape only. */
  checkHeader?: HeaderCheck;
  timeoutMs?: number;
  /** Long-poll wait for new records, seconds. */
  waitSeconds?: number;
  onProgress?: (progress: { local: number; upstream: number }) => void;
}

const MAX_COMMITMENT_BYTES = 64;

export class JournalFollower {
  private readonly o: FollowerOptions;
  private readonly upstream: string;
  /** The upstream head last seen, for the lag on the status page. */
  lastUpstreamHead: UpstreamHead | undefined;
  lastSyncAt: number | undefined;
  private signal: AbortSignal | undefined;

  constructor(options: FollowerOptions) {
    this.o = options;
    this.upstream = options.upstream.replace(/\/+$/, '');
  }

  private async fetch(path: string, timeoutMs = this.o.timeoutMs ?? 30_000): Promise<Response> {
    const timeout = AbortSignal.timeout(timeoutMs);
    const response = await fetch(`${this.upstream}${path}`, {
      signal: this.signal ? AbortSignal.any([this.signal, timeout]) : timeout,
    });
    if (response.status !== 200) throw new Error(`${this.upstream}${path}: HTTP ${response.status}`);
    return response;
  }

  /** The upstream head; with `after`, waits (long poll) until it has more than `after` records. */
  async head(after?: number): Promise<UpstreamHead> {
    const wait = this.o.waitSeconds ?? 25;
    const query = after === undefined ? '' : `?after=${after}&wait=${wait}`;
    const json = (await (await this.fetch(`/journal/head${query}`, (wait + 10) * 1000)).json()) as {
      records: number;
      chain_hash: string;
    };
    this.lastUpstreamHead = { records: json.records, chainHash: json.chain_hash };
    return this.lastUpstreamHead;
  }

  /** Downloads and appends everything up to the upstream's current head; returns how many records. */
  async syncOnce(): Promise<number> {
    const journal = this.o.calendar.journal;
    const upstream = await this.head();
    const startRecords = journal.head.records;
    if (upstream.records < startRecords) {
      throw new MirrorIntegrityError(
        `upstream has ${upstream.records} records, fewer than the ${startRecords} already mirrored`,
      );
    }
    if (upstream.records === startRecords && upstream.chainHash !== toHex(journal.head.chainHash)) {
      throw new MirrorIntegrityError(
        `upstream head ${upstream.chainHash} differs from ours at record ${startRecords - 1}: a fork`,
      );
    }
    while (journal.head.records < upstream.records) {
      await this.syncChunks(upstream.records);
      this.o.onProgress?.({ local: journal.head.records, upstream: upstream.records });
    }
    this.lastSyncAt = Date.now();
    return journal.head.records - startRecords;
  }

  /**
   * Downloads up to PREFETCH_CHUNKS chunks at once, verifies them in order and appends every record
   * that verified in one group (one fsync, one index transaction). A chunk that fails to download or
   * verify ends the batch: what verified before it is kept, then the error is thrown.
   */
  private async syncChunks(upstreamRecords: number): Promise<void> {
    const { journal, index } = this.o.calendar;
    const local = journal.head.records;
    const firstChunk = Math.floor(local / CHUNK_RECORDS);
    const count = Math.min(PREFETCH_CHUNKS, Math.ceil(upstreamRecords / CHUNK_RECORDS) - firstChunk);
    const downloads = Array.from({ length: count }, (_, i) => this.download(firstChunk + i));
    for (const download of downloads) download.catch(() => undefined);
    const start = index.chunkStart(firstChunk);
    let previous =
      firstChunk * CHUNK_RECORDS === local || !start
        ? journal.head.chainHash
        : await journal.chainHashBefore(start);
    const verified: ScannedRecord[] = [];
    const commitments = new Map<number, Uint8Array>();
    let failure: unknown;
    for (const [i, download] of downloads.entries()) {
      try {
        const fresh = await this.verifyChunk(firstChunk + i, await download, previous, commitments);
        verified.push(...fresh);
        previous = verified.at(-1)?.chainHash ?? previous;
      } catch (e) {
        failure = e;
        break;
      }
    }
    const written = await Promise.all(verified.map((r) => journal.append(r.kind, r.payload)));
    written.forEach((w, i) => {
      if (!equalBytes(w.chainHash, (verified[i] as ScannedRecord).chainHash)) {
        throw new MirrorIntegrityError(`record ${w.number}: appended with another chain hash`);
      }
    });
    if (failure !== undefined) throw failure;
  }

  private async download(chunk: number): Promise<Uint8Array> {
    return new Uint8Array(await (await this.fetch(`/journal/chunk/${chunk}`)).arrayBuffer());
  }

  /**
   * The records of `chunk` past what we hold (or will hold, once the records verified before it in
   * this batch are appended), each checked. `previous` is the chain hash before the chunk's first
   * record; `commitments` gathers the batch's commitments, not indexed yet.
   */
  private async verifyChunk(
    chunk: number,
    bytes: Uint8Array,
    previous: Uint8Array,
    commitments: Map<number, Uint8Array>,
  ): Promise<ScannedRecord[]> {
    const { journal } = this.o.calendar;
    const first = chunk * CHUNK_RECORDS;
    const local = Math.max(journal.head.records, first);
    let records: ScannedRecord[];
    try {
      records = parseChunk(bytes, first, previous);
    } catch (e) {
      throw new MirrorIntegrityError(`upstream chunk ${chunk}: ${(e as Error).message}`);
    }
    // records we hold already must be ours: the last one's chain hash covers all before it
    const overlap = records.find((r) => r.number === local - 1);
    if (local > first && (!overlap || !equalBytes(overlap.chainHash, journal.head.chainHash))) {
      throw new MirrorIntegrityError(
        `upstream record ${local - 1} differs from ours: a fork or a modified record`,
      );
    }
    const fresh = records.filter((r) => r.number >= local);
    for (const record of fresh) {
      await this.check(record, commitments);
      if (record.kind === RecordKind.Commitment) commitments.set(record.number, record.payload);
    }
    return fresh;
  }

  /** The checks a record must pass before it is appended; `batch` holds commitments not yet indexed. */
  private async check(record: ScannedRecord, batch: Map<number, Uint8Array>): Promise<void> {
    const fail = (why: string): never => {
      throw new MirrorIntegrityError(`upstream record ${record.number}: ${why}`);
    };
    try {
      if (record.kind === RecordKind.Commitment) {
        if (record.payload.byteLength === 0 || record.payload.byteLength > MAX_COMMITMENT_BYTES)
          fail('commitment of invalid length');
      } else if (record.kind === RecordKind.Proof) {
        const proof = decodeProofPayload(record.payload);
        const leaves = proof.commitments.map((n) => {
          const commitment = batch.get(n) ?? this.o.calendar.index.commitmentAt(n);
          if (!commitment || n >= record.number)
            fail(`proof covers record ${n}, which is not an earlier commitment`);
          return sha256(commitment as Uint8Array);
        });
        if (!equalBytes(new MerkleTree(leaves).root, proof.tip.msg))
          fail('proof tip is not the merkle root of its commitments');
        const attested = [...proof.tip.allAttestations()].filter(
          ([, a]) => a instanceof BitcoinBlockHeaderAttestation,
        );
        if (attested.length === 0) fail('proof reaches no Bitcoin attestation');
        for (const [msg, attestation] of attested) {
          await this.o.checkHeader?.((attestation as BitcoinBlockHeaderAttestation).height, msg);
        }
      } else if (record.kind === RecordKind.Stamp) {
        parseTransaction(decodeStampPayload(record.payload).rawTx);
      }
    } catch (e) {
      if (e instanceof MirrorIntegrityError) throw e;
      fail((e as Error).message);
    }
  }

  /**
   * Follows until `signal` aborts: syncs, then waits for more. Transport failures are retried with
   * backoff (bounded at a minute); an integrity failure ends it with MirrorIntegrityError.
   */
  async run(signal: AbortSignal, onError: (error: Error) => void = () => {}): Promise<void> {
    this.signal = signal;
    let backoff = 500;
    while (!signal.aborted) {
      try {
        await this.syncOnce();
        backoff = 500;
        await this.head(this.o.calendar.journal.head.records);
      } catch (e) {
        if (e instanceof MirrorIntegrityError) throw e;
        if (signal.aborted) return;
        onError(e as Error);
        await new Promise((resolve) => setTimeout(resolve, backoff));
        backoff = Math.min(60_000, backoff * 2);
      }
    }
  }
}

/** A HeaderCheck against a node's block headers (merkle root bytes 36..68, internal order). */
export function nodeHeaderCheck(getHeaderHex: (height: number) => Promise<string>): HeaderCheck {
  return async (height, merkleRoot) => {
    const header = fromHex(await getHeaderHex(height));
    if (!equalBytes(header.subarray(36, 68), merkleRoot)) {
      throw new MirrorIntegrityError(
        `Bitcoin attestation at height ${height} does not match the node's block header`,
      );
    }
  };
}
