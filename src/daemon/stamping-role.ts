/**
 * The stamping part of a calendar node: the key, the node (the operator's, over JSON-RPC, or the
 * embedded bcoin funded by mining), the chain follower saving its scan in the index, and the anchoring
 * coordinator with the own transaction. Nothing here waits for the chain: the follower's first scan
 * runs in the coordinator's background polls.
 * @module
 */
import type { Logger } from 'pino';
import { ChainFollower } from '../anchoring/chain-follower.js';
import { Collaboration, type CollaborationEvent } from '../anchoring/collaboration.js';
import { AnchoringCoordinator, type ProofSource } from '../anchoring/coordinator.js';
import { type ExternalSettings, ExternalStamping } from '../anchoring/external-stamping.js';
import type { FeePolicy } from '../anchoring/fee-policy.js';
import {
  bcoinChainDir,
  type EmbeddedBcoin,
  fundOnRegtest,
  startEmbeddedBcoin,
} from '../bitcoin/embedded-bcoin.js';
import { NETWORKS, type NetworkName } from '../bitcoin/network.js';
import { NodeClient } from '../bitcoin/node-client.js';
import { loadWalletKey } from '../bitcoin/wallet-key.js';
import type { Calendar } from '../calendar/calendar.js';
import { VERSION } from './version.js';

/** Without a saved scan, the chain is read from this many blocks below the tip (on every network). */
export const SCAN_WINDOW_BLOCKS = 1000;

export interface BitcoinOptions {
  network: NetworkName;
  /** The node's JSON-RPC; not used with `embedded`. */
  rpc?: { url: string; cookieFile?: string };
  /** Run bcoin on regtest inside the data dir and mine a block every `blockIntervalMs`. */
  embedded?: { blockIntervalMs: number };
  minConfirmations: number;
  stampIntervalMs: number;
  /**
   * First block scanned for outputs paying the calendar's key, instead of SCAN_WINDOW_BLOCKS below the
   * tip; a saved scan that began above it is scanned again.
   */
  scanFromHeight?: number;
  fees?: Partial<FeePolicy>;
  pollMs?: number;
  /** Warn when pending commitments wait longer than this for an anchor. */
  lagWarningMs?: number;
  /** Collaborative stamping: master calendars whose transactions carry this calendar's tips. */
  collaboration?: CollaborationSettings;
  /** External stamping: tips offered to anyone, donations taken and found in blocks. */
  external?: ExternalSettings;
}

export interface CollaborationSettings {
  masters: string[];
  timeoutBlocks: number;
  requestTimeoutMs: number;
  pollIntervalMs: number;
}

export interface StampingRole {
  anchoring: AnchoringCoordinator;
  /** With masters set: the source of proofs through their transactions. */
  collaboration: Collaboration | undefined;
  /** With external stamping enabled: the source of proofs through donations. */
  external: ExternalStamping | undefined;
  node: NodeClient;
  network: NetworkName;
  embedded: EmbeddedBcoin | undefined;
  minConfirmations: number;
  /** Stops the embedded node and its miner (anchoring is stopped by its own `stop`). */
  stop(): Promise<void>;
}

export async function startStampingRole(
  dataDir: string,
  options: BitcoinOptions,
  calendar: Calendar,
  log: Logger,
  onCollaborationEvent?: (event: CollaborationEvent) => void,
): Promise<StampingRole> {
  const embeddedOptions = options.embedded;
  const network = NETWORKS[embeddedOptions ? 'bcoin-regtest' : options.network];
  const key = loadWalletKey(dataDir, network, true, log);
  let embedded: EmbeddedBcoin | undefined;
  let miner: NodeJS.Timeout | undefined;
  let node: NodeClient;
  if (embeddedOptions) {
    embedded = await startEmbeddedBcoin({ chainDir: bcoinChainDir(dataDir), log });
    await fundOnRegtest(embedded, key.address);
    const bcoin = embedded;
    miner = setInterval(() => {
      bcoin
        .mine(1, key.address)
        .catch((e: unknown) => log.warn({ err: e }, 'embedded regtest: mining failed'));
    }, embeddedOptions.blockIntervalMs);
    node = embedded.node;
  } else {
    if (!options.rpc) throw new Error('bitcoin: --bitcoin-rpc is required unless --embedded-regtest');
    node = new NodeClient(options.rpc);
  }
  const chain = new ChainFollower({
    node,
    scripts: [key.script],
    store: calendar.index.chainScan,
    window: SCAN_WINDOW_BLOCKS,
    ...(options.scanFromHeight !== undefined && { from: options.scanFromHeight }),
    log,
  });
  const settings = options.collaboration;
  const externalSettings = options.external;
  let collaboration: Collaboration | undefined;
  let external: ExternalStamping | undefined;
  const anchoring = new AnchoringCoordinator({
    calendar,
    node,
    chain,
    key,
    minConfirmations: options.minConfirmations,
    stampIntervalMs: options.stampIntervalMs,
    log,
    ...(options.fees && { fees: options.fees }),
    ...(options.pollMs !== undefined && { pollMs: options.pollMs }),
    ...(options.lagWarningMs !== undefined && { lagWarningMs: options.lagWarningMs }),
    sources: (prove, own) => {
      const sources: ProofSource[] = [];
      if (settings) {
        collaboration = new Collaboration({
          ...settings,
          calendar,
          node,
          chain,
          minConfirmations: options.minConfirmations,
          prove,
          userAgent: `otsd/${VERSION}`,
          log,
          ...(onCollaborationEvent && { onEvent: onCollaborationEvent }),
        });
        sources.push(collaboration);
      }
      if (externalSettings) {
        external = new ExternalStamping({
          settings: externalSettings,
          calendar,
          node,
          chain,
          own,
          minConfirmations: options.minConfirmations,
          prove,
          log,
        });
        sources.push(external);
      }
      return sources;
    },
  });
  if (settings)
    log.info({ masters: settings.masters, timeoutBlocks: settings.timeoutBlocks }, 'bitcoin: collaborating');
  if (externalSettings)
    log.info({ waitBlocks: externalSettings.waitBlocks }, 'bitcoin: taking external transactions');
  log.info(
    { network: network.name, address: key.address, rpc: embedded ? 'embedded bcoin' : node.rpc.displayUrl },
    'bitcoin: stamping',
  );
  return {
    anchoring,
    collaboration,
    external,
    node,
    network: network.name,
    embedded,
    minConfirmations: options.minConfirmations,
    stop: async () => {
      clearInterval(miner);
      await embedded?.stop();
    },
  };
}
