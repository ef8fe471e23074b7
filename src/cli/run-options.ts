/**
 * The flags of `otsd run`, each with its environment variable and default (the one list of them:
 * the config file's keys name these options, daemon/config-file.ts), their parsers, and the checks
 * across flags made before anything starts.
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_EXTERNAL_SETTINGS } from '../anchoring/external-stamping.js';
import { MAX_DONATION_BYTES_LIMIT } from '../bitcoin/donation-rules.js';
import { NETWORK_NAMES, type NetworkName } from '../bitcoin/network.js';
import { LOG_LEVELS, type LogLevel } from '../daemon/logger.js';
import { MIRROR_HEADERS, type MirrorHeaders } from '../daemon/mirror-role.js';
import { parseProxyAddresses } from '../http/trusted-proxies.js';
import { isCalendarUrl } from '../remote/calendar-client.js';
import { CliError } from './cli-error.js';
import { nonNegativeInteger, positiveInteger } from './integer-arguments.js';

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

/** Adds every flag of `otsd run` to `command`. */
export function addRunOptions(command: Command): Command {
  return command
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
    );
}

function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a non-negative number');
  return n;
}

function parseListen(value: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value);
  const port = Number(match?.[3]);
  if (!match || port > 65535) throw new InvalidArgumentError('expected HOST:PORT, e.g. 127.0.0.1:14788');
  return { host: (match[1] ?? match[2]) as string, port };
}

/** `--trust-proxy` may be given several times, each a comma-separated list. */
function proxyAddresses(value: string, previous: string[] | undefined): string[] {
  try {
    return [...(previous ?? []), ...parseProxyAddresses(value)];
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

/** `--upstream` may be given several times, and OTSD_UPSTREAM may list URLs separated by commas. */
function collectUrls(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...value.split(/[\s,]+/).filter(Boolean)];
}

/** Rule 1's limit: python-opentimestamps' default, and never above Core's largest standard transaction. */
function donationBytes(value: string): number {
  const n = positiveInteger(value);
  if (n > MAX_DONATION_BYTES_LIMIT)
    throw new InvalidArgumentError(`expected at most ${MAX_DONATION_BYTES_LIMIT} bytes`);
  return n;
}

/** The checks across flags: a role's upstreams, masters and external stamping where they make sense. */
export function checkRunOptions(options: RunOptions): void {
  const upstreams = options.upstream ?? [];
  if (options.role !== 'calendar' && upstreams.length === 0)
    throw new CliError(`--role ${options.role} needs --upstream URL`);
  if (options.role === 'mirror' && upstreams.length > 1)
    throw new CliError('a mirror follows one calendar: give --upstream once');
  if (options.role === 'calendar' && upstreams.length > 0)
    throw new CliError('--upstream is for --role mirror or aggregator');
  if (options.aggregate && options.role !== 'mirror')
    throw new CliError('--aggregate is for --role mirror (a calendar and an aggregator always aggregate)');
  checkMasters(options);
  checkExternal(options);
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
