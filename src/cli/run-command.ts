/** `otsd run`: a calendar node in the foreground until SIGINT or SIGTERM. */
import { Command, InvalidArgumentError, Option } from 'commander';
import type { Aggregator } from '../aggregator/aggregator.js';
import type { AnchoringCoordinator } from '../anchoring/coordinator.js';
import { DEFAULT_EXTERNAL_SETTINGS } from '../anchoring/external-stamping.js';
import { MAX_DONATION_BYTES_LIMIT } from '../bitcoin/donation-rules.js';
import { NETWORK_NAMES, type NetworkName } from '../bitcoin/network.js';
import { startAggregatorNode } from '../daemon/aggregator-node.js';
import { type CalendarNodeOptions, startCalendarNode } from '../daemon/calendar-node.js';
import { CONFIG_KEYS, loadConfigFile, maskSecret } from '../daemon/config-file.js';
import { journalOutageStatus } from '../daemon/journal-warnings.js';
import { createLogger, LOG_LEVELS, type LogLevel } from '../daemon/logger.js';
import { MIRROR_HEADERS, type MirrorHeaders } from '../daemon/mirror-role.js';
import type { RoundOptions } from '../daemon/rounds.js';
import type { BitcoinOptions } from '../daemon/stamping-role.js';
import { stopNode, stopSignal } from '../daemon/stop.js';
import { type Notifier, systemdNotifier } from '../daemon/systemd-notify.js';
import type { HttpLimits } from '../http/app.js';
import { parseProxyAddresses } from '../http/trusted-proxies.js';
import type { FullIndexCheck } from '../index/full-check.js';
import type { Journal } from '../journal/journal.js';
import type { MirrorProgress } from '../mirror/mirror.js';
import { isCalendarUrl } from '../remote/calendar-client.js';
import { CliError } from './cli-error.js';
import { nonNegativeInteger, positiveInteger } from './integer-arguments.js';
import { nextSteps } from './next-steps.js';

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

/** Bound on a graceful stop: past it the process exits anyway, with status 1. */
const SHUTDOWN_TIMEOUT_MS = 30_000;
/** While the index catches up at start, systemd is asked for this much more time... */
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

export interface RunOptions {
  dataDir: string;
  listen: { host: string; port: number };
  uri?: string;
  roundInterval: number;
  maxRoundDigests?: number;
  maxWaitingDigests?: number;
  maxRequestsInFlight?: number;
  maxRequestsPerConnection?: number;
  listenBacklog?: number;
  maxConnections?: number;
  trustProxy?: string[];
  logLevel: LogLevel;
  embeddedRegtest?: boolean;
  blockInterval: number;
  bitcoinRpc?: string;
  bitcoinRpcCookie?: string;
  bitcoinNetwork: NetworkName;
  minConfirmations?: number;
  stampInterval?: number;
  bitcoinScanFrom?: number;
  feeRate?: number;
  maxFeeRate?: number;
  maxFeePerTx?: number;
  maxSpendPerDay?: number;
  prefixMinNibbles?: number;
  prefixMaxEntries?: number;
  role: 'calendar' | 'mirror' | 'aggregator';
  mirrorHeaders: MirrorHeaders;
  config?: string;
  showConfig?: boolean;
  metricsListen?: { host: string; port: number };
  /** The calendar a mirror follows, or the calendars an aggregator submits to. */
  upstream?: string[];
  upstreamTimeout: number;
  aggregate?: boolean;
  /** Master calendars whose transactions carry this calendar's tips. */
  master?: string[];
  masterTimeoutBlocks: number;
  masterRequestTimeout: number;
  masterPollInterval: number;
  /** External stamping: offer tips to anyone and take their donations (docs/bitcoin.md). */
  external?: boolean;
  externalWaitBlocks: number;
  externalMaxTxBytes: number;
  externalMinFeeRate: number;
  externalMaxPerTip: number;
  externalMaxPending: number;
  externalTipWindowBlocks: number;
}

/** What `otsd run` starts: a calendar or mirror, or a stand-alone aggregator. */
interface RunningNode {
  url: string;
  aggregator: Aggregator | undefined;
  anchoring?: AnchoringCoordinator | undefined;
  close(): Promise<void>;
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

function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a non-negative number');
  return n;
}

export function parseListen(value: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value);
  const port = Number(match?.[3]);
  if (!match || port > 65535) throw new InvalidArgumentError('expected HOST:PORT, e.g. 127.0.0.1:14788');
  return { host: (match[1] ?? match[2]) as string, port };
}

/** `--upstream` may be given several times, and OTSD_UPSTREAM may list URLs separated by commas. */
function proxyAddresses(value: string, previous: string[] | undefined): string[] {
  try {
    return [...(previous ?? []), ...parseProxyAddresses(value)];
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

function collectUrls(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...value.split(/[\s,]+/).filter(Boolean)];
}

/** Masters are for a calendar that stamps (its node checks their proofs), and must be calendar URLs. */
function checkMasters(options: RunOptions): void {
  const masters = options.master ?? [];
  if (masters.length === 0) return;
  if (options.role !== 'calendar') throw new CliError('--master is for --role calendar');
  if (!options.embeddedRegtest && !options.bitcoinRpc)
    throw new CliError(
      "--master needs --bitcoin-rpc or --embedded-regtest: the calendar checks its masters' proofs against its own node, and stamps alone when they fail",
    );
  const bad = masters.find((url) => !isCalendarUrl(url));
  if (bad !== undefined) throw new CliError(`master ${JSON.stringify(bad)} is not an http(s) URL`);
}

/** External stamping is for a calendar that stamps: its node checks and relays the donations. */
function checkExternal(options: RunOptions): void {
  if (!options.external) return;
  if (options.role !== 'calendar') throw new CliError('--external is for --role calendar');
  if (!options.embeddedRegtest && !options.bitcoinRpc)
    throw new CliError(
      '--external needs --bitcoin-rpc or --embedded-regtest: the calendar checks and relays donations through its node',
    );
}

/** Rule 1's limit: python-opentimestamps' default, and never above Core's largest standard transaction. */
function donationBytes(value: string): number {
  const n = positiveInteger(value);
  if (n > MAX_DONATION_BYTES_LIMIT)
    throw new InvalidArgumentError(`expected at most ${MAX_DONATION_BYTES_LIMIT} bytes`);
  return n;
}

/**
 * The settings as they would be now: the file read again under the flags given at start (flags still
 * win over the file; environment variables do not change in a running process).
 */
function reloadSettings(command: Command, started: RunOptions): RunOptions {
  const fromFile = started.config ? loadConfigFileOrFail(started.config) : {};
  const current = { ...started } as Record<string, unknown>;
  for (const [option, value] of Object.entries(fromFile)) {
    const source = command.getOptionValueSource(option);
    if (source === 'config' || source === 'default' || source === undefined) current[option] = value;
  }
  return current as unknown as RunOptions;
}

function loadConfigFileOrFail(path: string): Record<string, unknown> {
  try {
    return loadConfigFile(path);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
}

/** Fills every option still at its default from the --config file; returns the resulting options. */
function applyConfigFile(command: Command): RunOptions {
  const path = command.getOptionValue('config') as string | undefined;
  if (path) {
    const values = loadConfigFileOrFail(path);
    for (const [option, value] of Object.entries(values)) {
      const source = command.getOptionValueSource(option);
      if (source === undefined || source === 'default')
        command.setOptionValueWithSource(option, value, 'config');
    }
  }
  return command.opts() as RunOptions;
}

/** The effective configuration as TOML-ish `key = value` lines, with the node's credentials masked. */
function showConfig(options: RunOptions): string {
  const byOption = new Map(
    Object.entries(CONFIG_KEYS).map(([key, spec]) => [spec.option, { key, secret: spec.secret }]),
  );
  return Object.entries(options)
    .filter(([option]) => byOption.has(option))
    .map(([option, value]) => {
      const { key, secret } = byOption.get(option) as { key: string; secret?: boolean };
      const shown = secret ? maskSecret(value) : value;
      const rendered =
        typeof shown === 'object' && shown !== null && !Array.isArray(shown)
          ? `"${(shown as { host: string }).host}:${(shown as { port: number }).port}"`
          : JSON.stringify(shown);
      return `${key} = ${rendered}`;
    })
    .sort()
    .join('\n');
}

function roundOptions(options: RunOptions): RoundOptions {
  return {
    roundIntervalMs: options.roundInterval,
    ...(options.maxRoundDigests !== undefined && { maxDigestsPerRound: options.maxRoundDigests }),
    ...(options.maxWaitingDigests !== undefined && { maxWaitingDigests: options.maxWaitingDigests }),
  };
}

/** The caps on requests in flight, from the flags (the defaults are the HTTP server's). */
function httpLimits(options: RunOptions): Partial<HttpLimits> {
  return {
    ...(options.maxRequestsInFlight !== undefined && { maxRequestsInFlight: options.maxRequestsInFlight }),
    ...(options.maxRequestsPerConnection !== undefined && {
      maxRequestsPerConnection: options.maxRequestsPerConnection,
    }),
    ...(options.listenBacklog !== undefined && { listenBacklog: options.listenBacklog }),
    ...(options.maxConnections !== undefined && { maxConnections: options.maxConnections }),
  };
}

function calendarNodeOptions(
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
    prefixLimits: {
      ...(options.prefixMinNibbles !== undefined && { minNibbles: options.prefixMinNibbles }),
      ...(options.prefixMaxEntries !== undefined && { maxEntries: options.prefixMaxEntries }),
    },
    logger,
  };
}

export function runCommand(out: (text: string) => void = (text) => process.stdout.write(text)): Command {
  return new Command('run')
    .description('run a calendar: take digests, commit rounds to the journal, serve proofs')
    .addOption(
      new Option('--data-dir <dir>', 'journal and index directory (created if missing)')
        .env('OTSD_DATA_DIR')
        .default('data'),
    )
    .addOption(
      new Option('--listen <host:port>', 'address to serve HTTP on')
        .env('OTSD_LISTEN')
        .default(parseListen('127.0.0.1:14788'), '127.0.0.1:14788')
        .argParser(parseListen),
    )
    .addOption(
      new Option(
        '--uri <url>',
        'public URI for PendingAttestations (default: http://LISTEN; a mirror: its calendar, --upstream)',
      ).env('OTSD_URI'),
    )
    .addOption(
      new Option(
        '--round-interval <ms>',
        'time between aggregation rounds (an aggregator, or a mirror with --aggregate, also sends one as soon as its upstreams answered the last)',
      )
        .env('OTSD_ROUND_INTERVAL_MS')
        .default(1000)
        .argParser(positiveInteger),
    )
    .addOption(
      new Option('--log-level <level>', 'log level')
        .env('OTSD_LOG_LEVEL')
        .default('info')
        .choices(LOG_LEVELS),
    )
    .addOption(
      new Option(
        '--embedded-regtest',
        'stamp on an embedded bcoin regtest node that mines on a timer (a demo)',
      ).env('OTSD_EMBEDDED_REGTEST'),
    )
    .addOption(
      new Option('--block-interval <seconds>', 'embedded regtest: seconds between mined blocks')
        .env('OTSD_BLOCK_INTERVAL')
        .default(10)
        .argParser(positiveInteger),
    )
    .addOption(
      new Option('--bitcoin-rpc <url>', 'node JSON-RPC, http://user:pass@host:port').env('OTSD_BITCOIN_RPC'),
    )
    .addOption(
      new Option('--bitcoin-rpc-cookie <file>', "node's cookie file, instead of credentials in the URL").env(
        'OTSD_BITCOIN_RPC_COOKIE',
      ),
    )
    .addOption(
      new Option('--bitcoin-network <name>', 'network of the node, or the one a mirror without a node checks')
        .env('OTSD_BITCOIN_NETWORK')
        .default('main')
        .choices(NETWORK_NAMES),
    )
    .addOption(
      new Option('--min-confirmations <n>', 'confirmations before a proof is written (default 6; 2 embedded)')
        .env('OTSD_MIN_CONFIRMATIONS')
        .argParser(positiveInteger),
    )
    .addOption(
      new Option('--stamp-interval <seconds>', 'mean time between transactions (default 3600; 5 embedded)')
        .env('OTSD_STAMP_INTERVAL')
        .argParser(positiveInteger),
    )
    .addOption(
      new Option(
        '--bitcoin-scan-from <height>',
        'first block scanned for outputs paying the calendar, when no scan is saved or it began higher (default: tip - 1000)',
      )
        .env('OTSD_BITCOIN_SCAN_FROM')
        .argParser(nonNegativeNumber),
    )
    .addOption(
      new Option(
        '--fee-rate <sat/vB>',
        'fee rate of a first version when the node has no estimate (default 2)',
      )
        .env('OTSD_FEE_RATE')
        .argParser(nonNegativeNumber),
    )
    .addOption(
      new Option('--max-fee-rate <sat/vB>', 'highest fee rate a replacement may pay (default 200)')
        .env('OTSD_MAX_FEE_RATE')
        .argParser(nonNegativeNumber),
    )
    .addOption(
      new Option('--max-fee-per-tx <sat>', 'highest fee of one transaction (default 100000)')
        .env('OTSD_MAX_FEE_PER_TX')
        .argParser(nonNegativeNumber),
    )
    .addOption(
      new Option('--max-spend-per-day <sat>', 'most fees committed to in 24 hours (default 1000000)')
        .env('OTSD_MAX_SPEND_PER_DAY')
        .argParser(nonNegativeNumber),
    )
    .addOption(
      new Option('--prefix-min-nibbles <n>', 'shortest prefix answered by GET /timestamps (default 2)')
        .env('OTSD_PREFIX_MIN_NIBBLES')
        .argParser(positiveInteger),
    )
    .addOption(
      new Option('--prefix-max-entries <n>', 'most commitments in one prefix answer (default 1000)')
        .env('OTSD_PREFIX_MAX_ENTRIES')
        .argParser(positiveInteger),
    )
    .addOption(
      new Option(
        '--role <role>',
        'calendar; mirror of --upstream; or aggregator for the --upstream calendars',
      )
        .env('OTSD_ROLE')
        .default('calendar')
        .choices(['calendar', 'mirror', 'aggregator']),
    )
    .addOption(
      new Option(
        '--upstream <url>',
        'the calendar a mirror follows; for an aggregator, a calendar it submits to (repeat for several)',
      )
        .env('OTSD_UPSTREAM')
        .argParser(collectUrls),
    )
    .addOption(
      new Option('--upstream-timeout <ms>', 'longest wait for an upstream calendar to take a round')
        .env('OTSD_UPSTREAM_TIMEOUT_MS')
        .default(5000)
        .argParser(positiveInteger),
    )
    .addOption(
      new Option('--aggregate', 'a mirror also takes digests, and submits its rounds to its upstream').env(
        'OTSD_AGGREGATE',
      ),
    )
    .addOption(
      new Option(
        '--master <url>',
        "a master calendar whose transactions carry this calendar's tips (repeat for several; docs/bitcoin.md)",
      )
        .env('OTSD_MASTER')
        .argParser(collectUrls),
    )
    .addOption(
      new Option('--master-timeout-blocks <n>', "blocks to wait for a master's proof before stamping alone")
        .env('OTSD_MASTER_TIMEOUT_BLOCKS')
        .default(18)
        .argParser(positiveInteger),
    )
    .addOption(
      new Option('--master-request-timeout <ms>', 'longest wait for one answer of a master')
        .env('OTSD_MASTER_REQUEST_TIMEOUT_MS')
        .default(10_000)
        .argParser(positiveInteger),
    )
    .addOption(
      new Option(
        '--master-poll-interval <ms>',
        'besides on every new block, a master is asked for open proofs this often',
      )
        .env('OTSD_MASTER_POLL_INTERVAL_MS')
        .default(60_000)
        .argParser(positiveInteger),
    )
    .addOption(
      new Option(
        '--external',
        'offer tips to anyone and take their donations, conforming transactions that commit to one (docs/bitcoin.md)',
      ).env('OTSD_EXTERNAL'),
    )
    .addOption(
      new Option(
        '--external-wait-blocks <n>',
        'longest wait of the own transaction on a pending donation paying at least its fee rate (0: never)',
      )
        .env('OTSD_EXTERNAL_WAIT_BLOCKS')
        .default(DEFAULT_EXTERNAL_SETTINGS.waitBlocks)
        .argParser(nonNegativeInteger),
    )
    .addOption(
      new Option('--external-max-tx-bytes <n>', 'largest donation taken, witness included')
        .env('OTSD_EXTERNAL_MAX_TX_BYTES')
        .default(DEFAULT_EXTERNAL_SETTINGS.maxTxBytes)
        .argParser(donationBytes),
    )
    .addOption(
      new Option('--external-min-fee-rate <sat/vB>', 'lowest fee rate of a donation taken')
        .env('OTSD_EXTERNAL_MIN_FEE_RATE')
        .default(DEFAULT_EXTERNAL_SETTINGS.minFeeRate)
        .argParser(nonNegativeNumber),
    )
    .addOption(
      new Option('--external-max-per-tip <n>', 'most pending donations taken for one tip')
        .env('OTSD_EXTERNAL_MAX_PER_TIP')
        .default(DEFAULT_EXTERNAL_SETTINGS.maxPerTip)
        .argParser(positiveInteger),
    )
    .addOption(
      new Option('--external-max-pending <n>', 'most pending donations taken in all')
        .env('OTSD_EXTERNAL_MAX_PENDING')
        .default(DEFAULT_EXTERNAL_SETTINGS.maxPending)
        .argParser(positiveInteger),
    )
    .addOption(
      new Option('--external-tip-window-blocks <n>', 'blocks a tip stays offered')
        .env('OTSD_EXTERNAL_TIP_WINDOW_BLOCKS')
        .default(DEFAULT_EXTERNAL_SETTINGS.tipWindowBlocks)
        .argParser(positiveInteger),
    )
    .addOption(
      new Option(
        '--metrics-listen <host:port>',
        'serve Prometheus /metrics here (e.g. 127.0.0.1:14789; keep it private)',
      )
        .env('OTSD_METRICS_LISTEN')
        .argParser(parseListen),
    )
    .addOption(
      new Option('--config <file>', 'TOML configuration (flags, then OTSD_* variables, override it)').env(
        'OTSD_CONFIG',
      ),
    )
    .addOption(new Option('--show-config', 'print the effective configuration (secrets masked) and exit'))
    .addOption(
      new Option('--max-round-digests <n>', 'most digests in one round; the rest wait (default 100000)')
        .env('OTSD_MAX_ROUND_DIGESTS')
        .argParser(positiveInteger),
    )
    .addOption(
      new Option(
        '--max-waiting-digests <n>',
        'most digests not answered yet (waiting or in a round); past it, 503 with Retry-After (default 200000)',
      )
        .env('OTSD_MAX_WAITING_DIGESTS')
        .argParser(positiveInteger),
    )
    .addOption(
      new Option(
        '--max-requests-in-flight <n>',
        'most requests read and not answered yet, on all connections (about 5 KB each); past it, 503 at once (default 20000)',
      )
        .env('OTSD_MAX_REQUESTS_IN_FLIGHT')
        .argParser(positiveInteger),
    )
    .addOption(
      new Option(
        '--max-requests-per-connection <n>',
        'most requests read from one connection and not answered yet; a client pipelining more waits (default 32)',
      )
        .env('OTSD_MAX_REQUESTS_PER_CONNECTION')
        .argParser(positiveInteger),
    )
    .addOption(
      new Option(
        '--listen-backlog <n>',
        'connections the kernel queues before otsd accepts them (capped by net.core.somaxconn; default 4096)',
      )
        .env('OTSD_LISTEN_BACKLOG')
        .argParser(positiveInteger),
    )
    .addOption(
      new Option(
        '--max-connections <n>',
        'most open connections (about 40 KB each); past it, new ones are closed at once (default 5000)',
      )
        .env('OTSD_MAX_CONNECTIONS')
        .argParser(positiveInteger),
    )
    .addOption(
      new Option(
        '--trust-proxy <addresses>',
        'reverse proxies (IP addresses or CIDR ranges, comma-separated) whose X-Forwarded-For names the client: behind nginx, so that the limit on donation posts per client does not count every client as the proxy',
      )
        .env('OTSD_TRUST_PROXY')
        .argParser(proxyAddresses),
    )
    .addOption(
      new Option(
        '--mirror-headers <how>',
        'a mirror without --bitcoin-rpc checks attestations against headers from its upstream linked to checkpoints, or (insecure-none) not at all',
      )
        .env('OTSD_MIRROR_HEADERS')
        .default('upstream')
        .choices(MIRROR_HEADERS),
    )
    .addHelpText(
      'after',
      '\nExample:\n  otsd run --data-dir /var/lib/otsd --listen 127.0.0.1:14788 --uri https://calendar.example.org',
    )
    .action(async (_options: RunOptions, command: Command) => {
      const options = applyConfigFile(command);
      if (options.showConfig) {
        out(`${showConfig(options)}\n`);
        return;
      }
      const upstreams = options.upstream ?? [];
      if (options.role !== 'calendar' && upstreams.length === 0)
        throw new CliError(`--role ${options.role} needs --upstream URL`);
      if (options.role === 'mirror' && upstreams.length > 1)
        throw new CliError('a mirror follows one calendar: give --upstream once');
      if (options.role === 'calendar' && upstreams.length > 0)
        throw new CliError('--upstream is for --role mirror or aggregator');
      if (options.aggregate && options.role !== 'mirror')
        throw new CliError(
          '--aggregate is for --role mirror (a calendar and an aggregator always aggregate)',
        );
      checkMasters(options);
      checkExternal(options);
      const logger = createLogger(options.logLevel);
      const stopRequested = stopSignal();
      const notifier = systemdNotifier(process.env, (e) =>
        logger.warn({ error: e.message }, 'systemd-notify failed'),
      );
      let node: RunningNode;
      let ready: string;
      let journal: Journal | undefined;
      let indexCheck: FullIndexCheck | undefined;
      if (options.role === 'aggregator') {
        const aggregatorNode = await startAggregatorNode({
          upstreams,
          upstreamTimeoutMs: options.upstreamTimeout,
          ...options.listen,
          ...roundOptions(options),
          httpLimits: httpLimits(options),
          ...(options.metricsListen && { metrics: options.metricsListen }),
          logger,
        });
        node = aggregatorNode;
        process.stderr.write(
          `otsd: aggregator for ${upstreams.join(', ')} listening on ${aggregatorNode.url}\n`,
        );
        ready = `aggregating on ${aggregatorNode.url} for ${upstreams.length} calendar(s)`;
      } else {
        const calendarNode = await startCalendarNode(
          calendarNodeOptions(options, upstreams[0], logger, notifier),
        );
        node = calendarNode;
        journal = calendarNode.calendar.journal;
        indexCheck = calendarNode.calendar.indexCheck;
        process.stderr.write(
          `otsd: calendar ${calendarNode.calendar.uri} listening on ${calendarNode.url} (data dir ${options.dataDir})\n`,
        );
        // for the person at a terminal, and always in the demo (which is run from one)
        if (options.role === 'calendar' && (process.stderr.isTTY || options.embeddedRegtest)) {
          process.stderr.write(
            nextSteps({
              uri: calendarNode.calendar.uri,
              url: calendarNode.url,
              dataDir: options.dataDir,
              bitcoin: options.embeddedRegtest ? 'embedded' : options.bitcoinRpc ? 'node' : 'none',
              blockIntervalSeconds: options.blockInterval,
            }),
          );
        }
        // journal recovered, index caught up, listening
        ready = `serving ${calendarNode.url}, ${calendarNode.calendar.journal.head.records} journal records`;
      }
      notifier.ready(ready);
      // the watchdog keeps pinging through a storage fault (otsd waits it out; a restart would not help):
      // systemctl status says what is wrong meanwhile
      journal?.onOutage((outage) => notifier.status(outage ? journalOutageStatus(outage) : ready));
      notifier.startWatchdog();
      // SIGHUP: re-read the reloadable settings (log level, fee caps, digest limits) from the same sources
      process.on('SIGHUP', () => {
        try {
          const reloaded = reloadSettings(command, options);
          logger.level = reloaded.logLevel;
          node.anchoring?.updateFees(bitcoinOptions(reloaded)?.fees ?? {});
          node.aggregator?.setLimits({
            ...(reloaded.maxRoundDigests !== undefined && { maxDigestsPerRound: reloaded.maxRoundDigests }),
            ...(reloaded.maxWaitingDigests !== undefined && { maxWaiting: reloaded.maxWaitingDigests }),
          });
          logger.info({ logLevel: reloaded.logLevel }, 'otsd: configuration reloaded');
        } catch (e) {
          logger.error({ error: (e as Error).message }, 'otsd: configuration not reloaded');
        }
      });
      // a journal that stopped taking appends for good (the index cannot catch up, not for want of space)
      // needs a restart (opening it recovers): stop with status 1, and systemd starts otsd again
      const journalStopped = journal?.failed.then((error) => {
        logger.fatal(
          { error: error.message },
          'otsd: the journal stopped taking appends; exiting for a restart',
        );
        process.exitCode = 1;
        return 'journal failure';
      });
      // an index the full check found damaged is rebuilt by the next start (the check left its marker):
      // stop with status 1 as well, and systemd starts otsd again, with nobody needed
      const indexDamaged = indexCheck?.done.then(() => {
        if (indexCheck?.state !== 'index damaged') return new Promise<never>(() => {});
        logger.fatal(
          { problem: indexCheck.problem },
          'otsd: the index is damaged; exiting for a restart, which rebuilds it from the journal',
        );
        process.exitCode = 1;
        return 'index damaged';
      });
      const reason = await Promise.race([
        stopRequested,
        ...(journalStopped ? [journalStopped] : []),
        ...(indexDamaged ? [indexDamaged] : []),
      ]);
      notifier.stopWatchdog();
      notifier.stopping();
      await stopNode(node, reason, logger, SHUTDOWN_TIMEOUT_MS);
    });
}
