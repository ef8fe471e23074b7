/**
 * Follows the node's best chain from a saved position, block by block, keeping what the parts that
 * watch it need: the unspent outputs paying the watched scripts, the block that holds each watched
 * txid, and the transactions with an output paying a watched output script (a donation's OP_RETURN).
 * What each block changed among them is kept for the last MAX_UNDO_BLOCKS blocks, so a block that
 * leaves the best chain is taken back exactly: the outputs it created go, the outputs it spent return.
 *
 * A block has left the best chain only when the node names another hash at its height, or the chain is
 * now shorter. A call that fails is an error for the caller to retry, never a reorg.
 *
 * Where to start without a saved position: `window` blocks below the tip (or the operator's `from`), or
 * lower where a watching part requires it. A pruned node gives the watched scripts' outputs from its
 * UTXO set instead (`scantxoutset`), since its old blocks may be gone. The position, what was found and
 * the undo data are saved in the index after each pass, so a restart goes on from there.
 * @module
 */
import type { Logger } from 'pino';
import type { Block, UnspentOutput } from '../bitcoin/node-client.js';
import { RpcError } from '../bitcoin/rpc-client.js';
import { BlockHeader, fromHex, reverseBytes, toHex } from '../ots/index.js';
import type { ChainNode } from './anchor-node.js';
import {
  type BlockRef,
  type BlockUndo,
  decodeScanState,
  encodeScanState,
  outpointKey,
  type ScanState,
} from './scan-state.js';

/** Reorgs deeper than this many blocks are not taken back: the scan starts again. */
export const MAX_UNDO_BLOCKS = 100;
/** A long scan is saved this often, so a restart in the middle of it goes on from there. */
const SAVE_EVERY_BLOCKS = 100;

/** Where the follower's state is kept between runs (the index). */
export interface ScanStore {
  load(): Uint8Array | undefined;
  save(state: Uint8Array): Promise<void>;
}

export interface ChainFollowerOptions {
  node: ChainNode;
  /** Outputs paying these scripts are followed. */
  scripts: Uint8Array[];
  store: ScanStore;
  /** How far below the node's tip a scan with no saved position starts. */
  window: number;
  /**
   * The operator's first height to scan (`--bitcoin-scan-from`), instead of the window. A saved scan
   * that began above it is dropped, so coins sent before the window are found.
   */
  from?: number;
  log: Pick<Logger, 'info' | 'warn' | 'error'>;
}

export type ScanProgress =
  /** No position yet: the node has not answered since start. */
  | { state: 'waiting' }
  /** A pruned node: the watched outputs come from its UTXO set. */
  | { state: 'reading-utxo-set' }
  /** Catching up: blocks `from` to `nodeHeight`, read up to `height`. */
  | { state: 'scanning'; from: number; height: number; nodeHeight: number }
  | { state: 'following'; height: number };

/** A pruned node that cannot give the watched outputs another way: otsd cannot stamp with it. */
export class PrunedNodeError extends Error {
  override name = 'PrunedNodeError';
}

/** The node has deleted a block the scan has yet to read. */
class BlockPrunedError extends Error {}

interface Position {
  origin: number;
  tip: BlockRef;
  outputs: Map<string, UnspentOutput>;
  mined: Map<string, BlockRef>;
  /** Watched output script (hex) -> txid (hex) -> the block holding that transaction. */
  paying: Map<string, Map<string, BlockRef>>;
  undo: BlockUndo[];
}

/** A transaction in the best chain paying a watched output script. */
export interface Payment {
  /** Internal order. */
  txid: Uint8Array;
  block: BlockRef;
}

export class ChainFollower {
  private readonly o: ChainFollowerOptions;
  private readonly scripts: string[];
  private readonly watched = new Set<string>();
  private readonly watchedOutputs = new Set<string>();
  private required = Number.POSITIVE_INFINITY;
  private position: Position | undefined;
  private nodeHeight = -1;
  /** The catch-up in progress, when a pass started more than a block behind. */
  private catchUp: { from: number } | undefined;
  private readingUtxoSet = false;

  constructor(options: ChainFollowerOptions) {
    this.o = options;
    this.scripts = options.scripts.map(toHex).sort();
  }

  /** Asks a scan with no saved position to start at `height` or lower; for parts registering at start. */
  requireFrom(height: number): void {
    this.required = Math.min(this.required, height);
  }

  watchTxid(txid: Uint8Array): void {
    this.watched.add(toHex(txid));
  }

  unwatchTxid(txid: Uint8Array): void {
    this.watched.delete(toHex(txid));
    this.position?.mined.delete(toHex(txid));
  }

  /**
   * Finds, from the next block read on, every transaction with an output paying exactly `script`.
   * Registered before the first pass (at start), it also keeps what a saved scan found.
   */
  watchOutputScript(script: Uint8Array): void {
    this.watchedOutputs.add(toHex(script));
  }

  unwatchOutputScript(script: Uint8Array): void {
    this.watchedOutputs.delete(toHex(script));
    this.position?.paying.delete(toHex(script));
  }

  /** The transactions in the best chain paying a watched output script, as far as the scan has read. */
  transactionsPaying(script: Uint8Array): Payment[] {
    const found = this.position?.paying.get(toHex(script));
    return [...(found ?? [])].map(([txid, block]) => ({ txid: fromHex(txid), block }));
  }

  /** The block in the best chain that holds a watched txid, as far as the scan has read. */
  minedAt(txid: Uint8Array): BlockRef | undefined {
    return this.position?.mined.get(toHex(txid));
  }

  /** Unspent outputs paying the watched scripts, as of `height`. */
  outputs(): UnspentOutput[] {
    return [...(this.position?.outputs.values() ?? [])];
  }

  /** The last block read (-1 before the first). */
  get height(): number {
    return this.position?.tip.height ?? -1;
  }

  progress(): ScanProgress {
    if (this.readingUtxoSet) return { state: 'reading-utxo-set' };
    if (!this.position) return { state: 'waiting' };
    if (this.catchUp) {
      return { state: 'scanning', from: this.catchUp.from, height: this.height, nodeHeight: this.nodeHeight };
    }
    return { state: 'following', height: this.height };
  }

  /**
   * One pass: takes back the blocks that left the best chain, then reads the new ones up to the node's
   * tip (or until `signal` aborts). Throws what the node throws; the next pass goes on from where this
   * one stopped.
   */
  async sync(signal?: AbortSignal): Promise<{ connected: number; disconnected: number }> {
    this.nodeHeight = await this.o.node.blockCount();
    this.position ??= await this.begin(this.nodeHeight, true);
    let connected = 0;
    let disconnected = 0;
    try {
      disconnected = await this.walkBack(this.nodeHeight);
      if (this.nodeHeight - this.height > 1) this.catchUp = { from: this.height + 1 };
      for (let h = this.height + 1; h <= this.nodeHeight && !signal?.aborted; h++) {
        const hash = await this.o.node.blockHash(h);
        const block = await this.fetch(h, hash);
        // the chain changed under this pass: the next one walks back
        if (toHex(reverseBytes(new BlockHeader(block.header).prevBlockHash)) !== this.tipHash()) break;
        this.connect(block);
        connected++;
        if (connected % SAVE_EVERY_BLOCKS === 0) await this.save();
      }
      if (this.height === this.nodeHeight) this.catchUp = undefined;
    } catch (e) {
      if (!(e instanceof BlockPrunedError)) throw e;
      this.o.log.warn(
        { height: this.height + 1 },
        'chain: the node pruned blocks the scan had not read; reading the watched outputs from its UTXO set',
      );
      this.position = await this.fromUtxoSet();
      this.catchUp = undefined;
      await this.save();
    } finally {
      if (connected > 0 || disconnected > 0) await this.save();
    }
    return { connected, disconnected };
  }

  /** The hash the next block must name as its parent (below genesis: the zero hash genesis names). */
  private tipHash(): string {
    const tip = (this.position as Position).tip;
    return tip.height < 0 ? toHex(new Uint8Array(32)) : tip.hash;
  }

  private async begin(nodeHeight: number, useSaved: boolean): Promise<Position> {
    const saved = useSaved ? this.loadSaved() : undefined;
    if (saved) {
      this.o.log.info({ height: saved.tip.height, origin: saved.origin }, 'chain: resuming the saved scan');
      return saved;
    }
    if ((await this.o.node.chainInfo()).pruned) {
      const position = await this.fromUtxoSet();
      await this.saveState(position);
      return position;
    }
    const wanted = Math.min(this.o.from ?? nodeHeight - this.o.window, this.required);
    const start = Math.max(0, Math.min(wanted, nodeHeight + 1));
    const tip =
      start > 0
        ? { height: start - 1, hash: await this.o.node.blockHash(start - 1) }
        : { height: -1, hash: '' };
    this.o.log.info(
      { from: start, blocks: nodeHeight - start + 1 },
      'chain: scanning for the watched outputs',
    );
    return { origin: start, tip, outputs: new Map(), mined: new Map(), paying: new Map(), undo: [] };
  }

  /** The saved state, if it is for these scripts and covers the operator's first height; else undefined. */
  private loadSaved(): Position | undefined {
    const bytes = this.o.store.load();
    if (!bytes) return undefined;
    let state: ScanState;
    try {
      state = decodeScanState(bytes);
    } catch (e) {
      this.o.log.warn({ error: (e as Error).message }, 'chain: the saved scan is unreadable; scanning again');
      return undefined;
    }
    if (state.scripts.join() !== this.scripts.join()) return undefined;
    if (this.o.from !== undefined && state.origin > this.o.from) {
      this.o.log.info(
        { from: this.o.from, origin: state.origin },
        'chain: scanning again from the height asked for',
      );
      return undefined;
    }
    return {
      origin: state.origin,
      tip: state.tip,
      outputs: new Map(state.outputs.map((o) => [outpointKey(o.txid, o.index), o])),
      mined: new Map(state.mined.filter((m) => this.watched.has(m.txid)).map((m) => [m.txid, m.block])),
      paying: groupPayments(state.paying.filter((p) => this.watchedOutputs.has(p.script))),
      undo: state.undo,
    };
  }

  /** The watched outputs from a pruned node's UTXO set, at its tip; a watched txid paying one is mined. */
  private async fromUtxoSet(): Promise<Position> {
    this.readingUtxoSet = true;
    try {
      const snapshot = await this.o.node.unspentOutputs(this.o.scripts).catch((e: unknown) => {
        if (!(e instanceof RpcError) || e.code === undefined) throw e;
        throw new PrunedNodeError(
          `the node is pruned, so otsd cannot find its key's outputs in old blocks, and scantxoutset failed (${e.message}): use a node that is not pruned, or Bitcoin Core 0.17 or later`,
        );
      });
      const mined = new Map<string, BlockRef>();
      for (const output of snapshot.outputs) {
        const txid = toHex(output.txid);
        if (this.watched.has(txid) && !mined.has(txid))
          mined.set(txid, { height: output.height, hash: await this.o.node.blockHash(output.height) });
      }
      this.o.log.info(
        { height: snapshot.height, outputs: snapshot.outputs.length },
        'chain: the node is pruned; read the watched outputs from its UTXO set',
      );
      return {
        origin: 0,
        tip: { height: snapshot.height, hash: snapshot.hash },
        outputs: new Map(snapshot.outputs.map((o) => [outpointKey(o.txid, o.index), o])),
        mined,
        // a UTXO set holds no OP_RETURN outputs: the blocks pruned before the scan read them are lost
        paying: new Map(),
        undo: [],
      };
    } finally {
      this.readingUtxoSet = false;
    }
  }

  /** Takes back blocks until the tip is in the node's best chain; returns how many. */
  private async walkBack(nodeHeight: number): Promise<number> {
    let disconnected = 0;
    for (;;) {
      const position = this.position as Position;
      const { tip } = position;
      if (tip.height < 0) return disconnected;
      if (tip.height <= nodeHeight && (await this.o.node.blockHash(tip.height)) === tip.hash)
        return disconnected;
      const last = position.undo.at(-1);
      if (last?.block.hash !== tip.hash) {
        this.o.log.error(
          { height: tip.height, undoBlocks: MAX_UNDO_BLOCKS },
          'chain: a reorg deeper than the blocks kept for undo; scanning again',
        );
        this.position = await this.begin(nodeHeight, false);
        return disconnected;
      }
      this.o.log.warn({ height: tip.height, hash: tip.hash }, 'chain: block left the best chain (reorg)');
      this.disconnect(position, last);
      disconnected++;
    }
  }

  private async fetch(height: number, hash: string): Promise<Block> {
    try {
      return await this.o.node.block(height, hash);
    } catch (e) {
      // the node answered: it may have pruned the block since the scan last read one
      if (!(e instanceof RpcError) || e.code === undefined) throw e;
      const info = await this.o.node.chainInfo();
      if (info.pruned && height < info.pruneHeight) throw new BlockPrunedError();
      throw e;
    }
  }

  private connect(block: Block): void {
    const position = this.position as Position;
    const ref = { height: block.height, hash: block.hash };
    const undo: BlockUndo = {
      block: ref,
      prev: position.tip.hash,
      created: [],
      spent: [],
      mined: [],
      paying: [],
    };
    block.transactions.forEach((tx, i) => {
      for (const input of tx.inputs) {
        const key = outpointKey(input.prevTxid, input.prevIndex);
        const spent = position.outputs.get(key);
        if (spent) {
          position.outputs.delete(key);
          undo.spent.push(spent);
        }
      }
      tx.outputs.forEach((out, index) => {
        const script = toHex(out.script);
        if (this.watchedOutputs.has(script)) {
          const txid = toHex(tx.txid);
          addPayment(position.paying, script, txid, ref);
          undo.paying.push(`${script}:${txid}`);
        }
        if (!this.scripts.includes(script)) return;
        const key = outpointKey(tx.txid, index);
        position.outputs.set(key, {
          txid: tx.txid,
          index,
          value: out.value,
          script: out.script,
          height: block.height,
          coinbase: i === 0,
        });
        undo.created.push(key);
      });
      const txid = toHex(tx.txid);
      if (this.watched.has(txid)) {
        position.mined.set(txid, ref);
        undo.mined.push(txid);
        this.o.log.info(
          { txid: toHex(reverseBytes(tx.txid)), height: block.height },
          'chain: transaction mined',
        );
      }
    });
    position.undo.push(undo);
    if (position.undo.length > MAX_UNDO_BLOCKS) position.undo.shift();
    position.tip = ref;
  }

  /** The inverse of connect: what the block spent returns, then what it created goes. */
  private disconnect(position: Position, undo: BlockUndo): void {
    for (const output of undo.spent) position.outputs.set(outpointKey(output.txid, output.index), output);
    for (const key of undo.created) position.outputs.delete(key);
    for (const txid of undo.mined) position.mined.delete(txid);
    for (const entry of undo.paying) {
      const [script, txid] = entry.split(':') as [string, string];
      position.paying.get(script)?.delete(txid);
    }
    position.undo.pop();
    position.tip = { height: undo.block.height - 1, hash: undo.prev };
  }

  private save(): Promise<void> {
    return this.saveState(this.position as Position);
  }

  private saveState(position: Position): Promise<void> {
    return this.o.store.save(
      encodeScanState({
        scripts: this.scripts,
        origin: position.origin,
        tip: position.tip,
        outputs: [...position.outputs.values()],
        mined: [...position.mined].map(([txid, block]) => ({ txid, block })),
        paying: [...position.paying].flatMap(([script, found]) =>
          [...found].map(([txid, block]) => ({ script, txid, block })),
        ),
        undo: position.undo,
      }),
    );
  }
}

function groupPayments(list: ScanState['paying']): Map<string, Map<string, BlockRef>> {
  const grouped = new Map<string, Map<string, BlockRef>>();
  for (const { script, txid, block } of list) addPayment(grouped, script, txid, block);
  return grouped;
}

function addPayment(
  paying: Map<string, Map<string, BlockRef>>,
  script: string,
  txid: string,
  block: BlockRef,
) {
  const found = paying.get(script) ?? new Map<string, BlockRef>();
  found.set(txid, block);
  paying.set(script, found);
}
