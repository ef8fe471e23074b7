/** What `otsd run`'s flags mean for the node it starts: its options, and what it tells the terminal and systemd. */
import type { CalendarNodeOptions } from '../daemon/calendar-node.js';
import type { RoundOptions } from '../daemon/rounds.js';
import type { BitcoinOptions } from '../daemon/stamping-role.js';
import type { Notifier } from '../daemon/systemd-notify.js';
import type { HttpLimits } from '../http/app.js';
import type { MirrorProgress } from '../mirror/mirror.js';
import type { RunOptions } from './run-options.js';

/** A one-line progress bar on the terminal while a mirror catches up. */
export function progressBar(p: MirrorProgress): string {
  const share = p.upstream === 0 ? 1 : Math.min(1, p.local / p.upstream);
  const filled = Math.round(share * 30);
  const eta = p.etaSeconds === undefined ? '' : `, ETA ${p.etaSeconds} s`;
  return `[${'#'.repeat(filled)}${' '.repeat(30 - filled)}] ${Math.floor(share * 100)}% ${p.local}/${p.upstream} records, ${p.recordsPerSecond}/s${eta}`;
}

function drawProgress(p: MirrorProgress): void {
  process.stderr.write(`\r${progressBar(p)}${p.local >= p.upstream ? '\n' : ''}`);
}

/** While the index's file is checked or it catches up at start, systemd is asked for this much more time... */
const CATCH_UP_EXTENSION_SECONDS = 60;
/** ...at most this often. */
const CATCH_UP_NOTIFY_MS = 10_000;

/** The index's catch-up progress, told to systemd so that a long one does not hit the start timeout. */
function extendStartWhileCatchingUp(notifier: Notifier): (applied: number, total: number) => void {
  let last = Number.NEGATIVE_INFINITY;
  return (applied, total) => {
    const now = Date.now();
    if (applied >= total || now - last < CATCH_UP_NOTIFY_MS) return;
    last = now;
    notifier.extendStartTimeout(
      CATCH_UP_EXTENSION_SECONDS,
      `index: catching up, ${applied} of ${total} journal records`,
    );
  };
}

/** Stamping settings from the flags; undefined when neither a node nor the embedded one is asked for. */
export function bitcoinOptions(o: RunOptions): BitcoinOptions | undefined {
  if (!o.embeddedRegtest && !o.bitcoinRpc) return undefined;
  const embedded = o.embeddedRegtest === true;
  const fees = {
    ...(o.feeRate !== undefined && { feeRate: o.feeRate }),
    ...(o.maxFeeRate !== undefined && { maxFeeRate: o.maxFeeRate }),
    ...(o.maxFeePerTx !== undefined && { maxFeePerTx: o.maxFeePerTx }),
    ...(o.maxSpendPerDay !== undefined && { maxSpendPerDay: o.maxSpendPerDay }),
  };
  return {
    network: embedded ? 'bcoin-regtest' : o.bitcoinNetwork,
    ...(o.bitcoinRpc && {
      rpc: { url: o.bitcoinRpc, ...(o.bitcoinRpcCookie && { cookieFile: o.bitcoinRpcCookie }) },
    }),
    ...(embedded && { embedded: { blockIntervalMs: o.blockInterval * 1000 } }),
    // the demo chain mines every few seconds: a proof within about a minute
    minConfirmations: o.minConfirmations ?? (embedded ? 2 : 6),
    stampIntervalMs: (o.stampInterval ?? (embedded ? 5 : 3600)) * 1000,
    lagWarningMs: embedded ? 120_000 : 24 * 3600_000,
    ...(o.bitcoinScanFrom !== undefined && { scanFromHeight: o.bitcoinScanFrom }),
    fees,
    ...(o.master &&
      o.master.length > 0 && {
        collaboration: {
          masters: o.master,
          timeoutBlocks: o.masterTimeoutBlocks,
          requestTimeoutMs: o.masterRequestTimeout,
          pollIntervalMs: o.masterPollInterval,
        },
      }),
    ...(o.external && {
      external: {
        waitBlocks: o.externalWaitBlocks,
        maxTxBytes: o.externalMaxTxBytes,
        minFeeRate: o.externalMinFeeRate,
        maxPerTip: o.externalMaxPerTip,
        maxPending: o.externalMaxPending,
        tipWindowBlocks: o.externalTipWindowBlocks,
      },
    }),
  };
}

export function roundOptions(options: RunOptions): RoundOptions {
  return {
    roundIntervalMs: options.roundInterval,
    ...(options.maxRoundDigests !== undefined && { maxDigestsPerRound: options.maxRoundDigests }),
    ...(options.maxWaitingDigests !== undefined && { maxWaitingDigests: options.maxWaitingDigests }),
  };
}

/** The caps on requests in flight, from the flags (the defaults are the HTTP server's). */
export function httpLimits(options: RunOptions): Partial<HttpLimits> {
  return {
    ...(options.maxRequestsInFlight !== undefined && { maxRequestsInFlight: options.maxRequestsInFlight }),
    ...(options.maxRequestsPerConnection !== undefined && {
      maxRequestsPerConnection: options.maxRequestsPerConnection,
    }),
    ...(options.listenBacklog !== undefined && { listenBacklog: options.listenBacklog }),
    ...(options.maxConnections !== undefined && { maxConnections: options.maxConnections }),
  };
}

export function calendarNodeOptions(
  options: RunOptions,
  upstream: string | undefined,
  logger: CalendarNodeOptions['logger'],
  notifier: Notifier,
): CalendarNodeOptions {
  const bitcoin = bitcoinOptions(options);
  const { host, port } = options.listen;
  return {
    dataDir: options.dataDir,
    // a mirror serves its calendar's proofs: by default under the URI it follows
    uri:
      options.uri ??
      upstream?.replace(/\/+$/, '') ??
      `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    host,
    port,
    ...roundOptions(options),
    httpLimits: httpLimits(options),
    ...(options.trustProxy && { trustProxy: options.trustProxy }),
    ...(bitcoin && { bitcoin }),
    ...(upstream && {
      mirrorOf: upstream,
      mirrorHeaders: options.mirrorHeaders,
      mirrorNetwork: options.bitcoinNetwork,
      ...(options.aggregate && { mirrorAggregates: { upstreamTimeoutMs: options.upstreamTimeout } }),
      ...(process.stderr.isTTY && { mirrorProgress: drawProgress }),
    }),
    ...(options.metricsListen && { metrics: options.metricsListen }),
    onCatchUpProgress: extendStartWhileCatchingUp(notifier),
    onIndexCheck: () =>
      notifier.extendStartTimeout(CATCH_UP_EXTENSION_SECONDS, 'index: checking its file before it is opened'),
    prefixLimits: {
      ...(options.prefixMinNibbles !== undefined && { minNibbles: options.prefixMinNibbles }),
      ...(options.prefixMaxEntries !== undefined && { maxEntries: options.prefixMaxEntries }),
    },
    logger,
  };
}
