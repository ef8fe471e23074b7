/**
 * The settings of `otsd run`, in one list: each with its flag, its environment variable, its key in
 * the TOML config file (config-file.ts), its default and how its value is read; and the checks across
 * settings made before anything starts.
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_EXTERNAL_SETTINGS } from '../anchoring/external-stamping.js';
import { MAX_DONATION_BYTES_LIMIT } from '../bitcoin/donation-rules.js';
import { NETWORK_NAMES, type NetworkName } from '../bitcoin/network.js';
import { LOG_LEVELS, type LogLevel } from '../daemon/logger.js';
import { MIRROR_HEADERS, type MirrorHeaders } from '../daemon/mirror-role.js';
import { isProxyAddress, parseProxyAddresses } from '../http/trusted-proxies.js';
import { isCalendarUrl } from '../remote/calendar-client.js';
import { CliError } from './cli-error.js';
import {
  nonNegativeInteger,
  nonNegativeNumber,
  positiveInteger,
  type ValueParser,
  valueParser,
} from './number-arguments.js';

export const ROLES = ['calendar', 'mirror', 'aggregator'] as const;

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
  role: (typeof ROLES)[number];
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

/** How a setting's value is written and read. */
export type SettingValue =
  /** A flag without a value; true or false in the file. */
  | { kind: 'switch' }
  /** Any non-empty text, or text `parse` takes. */
  | { kind: 'text'; parse?: ValueParser<unknown> }
  /** A number `parse` takes (a flag's text, the file's number). */
  | { kind: 'number'; parse: ValueParser<number> }
  | { kind: 'choice'; choices: readonly string[] }
  /**
   * Several items: a flag given again, or a comma-separated list (flag and variable); a string or a
   * list of strings in the file, each one `isItem`.
   */
  | {
      kind: 'list';
      parse: (value: string, previous: string[] | undefined) => string[];
      isItem: (item: string) => boolean;
      expected: string;
    };

export interface RunSetting {
  /** Its key in the config file, e.g. `bitcoin.fee_rate`. */
  key: string;
  /** Commander's flags, e.g. `--fee-rate <sat/vB>`. */
  flags: string;
  env: string;
  description: string;
  value: SettingValue;
  /** As written in the file (and shown in `--help`). */
  default?: string | number;
  /** Masked by `otsd config show`. */
  secret?: true;
}

const parseListen = valueParser('HOST:PORT, e.g. 127.0.0.1:14788', (value) => {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value);
  const port = Number(match?.[3]);
  return match && port <= 65535 ? { host: (match[1] ?? match[2]) as string, port } : undefined;
});

/** Rule 1's limit: python-opentimestamps' default, and never above Core's largest standard transaction. */
const donationBytes = valueParser(`a positive integer up to ${MAX_DONATION_BYTES_LIMIT}`, (value) => {
  const n = Number(value);
  return Number.isInteger(n) && n > 0 && n <= MAX_DONATION_BYTES_LIMIT ? n : undefined;
});

/** Calendar URLs: given again, or separated by commas or spaces; checked by checkRunOptions. */
const calendarUrls: SettingValue = {
  kind: 'list',
  parse: (value, previous) => [...(previous ?? []), ...value.split(/[\s,]+/).filter(Boolean)],
  isItem: isCalendarUrl,
  expected: 'an http(s) URL or a list of them',
};

/** parseProxyAddresses, refusing as commander's parsers do (the message printed, not a stack). */
function proxyAddresses(value: string): string[] {
  try {
    return parseProxyAddresses(value);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

const number = (parse: ValueParser<number>): SettingValue => ({ kind: 'number', parse });

/** Every setting of `otsd run`; `--config` and `--show-config` are not settings (the file cannot set them). */
export const RUN_SETTINGS: readonly RunSetting[] = [
  {
    key: 'data_dir',
    flags: '--data-dir <dir>',
    env: 'OTSD_DATA_DIR',
    description: 'journal and index directory (created if missing)',
    value: { kind: 'text' },
    default: 'data',
  },
  {
    key: 'listen',
    flags: '--listen <host:port>',
    env: 'OTSD_LISTEN',
    description: 'address to serve HTTP on',
    value: { kind: 'text', parse: parseListen },
    default: '127.0.0.1:14788',
  },
  {
    key: 'uri',
    flags: '--uri <url>',
    env: 'OTSD_URI',
    description:
      'public URI for PendingAttestations (default: http://LISTEN; a mirror: its calendar, --upstream)',
    value: { kind: 'text' },
  },
  {
    key: 'round_interval_ms',
    flags: '--round-interval <ms>',
    env: 'OTSD_ROUND_INTERVAL_MS',
    description:
      'time between aggregation rounds (an aggregator, or a mirror with --aggregate, also sends one as soon as its upstreams answered the last)',
    value: number(positiveInteger),
    default: 1000,
  },
  {
    key: 'max_round_digests',
    flags: '--max-round-digests <n>',
    env: 'OTSD_MAX_ROUND_DIGESTS',
    description: 'most digests in one round; the rest wait (default 100000)',
    value: number(positiveInteger),
  },
  {
    key: 'max_waiting_digests',
    flags: '--max-waiting-digests <n>',
    env: 'OTSD_MAX_WAITING_DIGESTS',
    description:
      'most digests not answered yet (waiting or in a round); past it, 503 with Retry-After (default 200000)',
    value: number(positiveInteger),
  },
  {
    key: 'max_requests_in_flight',
    flags: '--max-requests-in-flight <n>',
    env: 'OTSD_MAX_REQUESTS_IN_FLIGHT',
    description:
      'most requests read and not answered yet, on all connections (about 5 KB each); past it, 503 at once (default 20000)',
    value: number(positiveInteger),
  },
  {
    key: 'max_requests_per_connection',
    flags: '--max-requests-per-connection <n>',
    env: 'OTSD_MAX_REQUESTS_PER_CONNECTION',
    description:
      'most requests read from one connection and not answered yet; a client pipelining more waits (default 32)',
    value: number(positiveInteger),
  },
  {
    key: 'listen_backlog',
    flags: '--listen-backlog <n>',
    env: 'OTSD_LISTEN_BACKLOG',
    description:
      'connections the kernel queues before otsd accepts them (capped by net.core.somaxconn; default 4096)',
    value: number(positiveInteger),
  },
  {
    key: 'max_connections',
    flags: '--max-connections <n>',
    env: 'OTSD_MAX_CONNECTIONS',
    description:
      'most open connections (about 40 KB each); past it, new ones are closed at once (default 5000)',
    value: number(positiveInteger),
  },
  {
    key: 'trust_proxy',
    flags: '--trust-proxy <addresses>',
    env: 'OTSD_TRUST_PROXY',
    description:
      'reverse proxies (IP addresses or CIDR ranges, comma-separated) whose X-Forwarded-For names the client: behind nginx, so that the limit on donation posts per client does not count every client as the proxy',
    value: {
      kind: 'list',
      parse: (value, previous) => [...(previous ?? []), ...proxyAddresses(value)],
      isItem: isProxyAddress,
      expected: 'an IP address or CIDR range, or a list of them',
    },
  },
  {
    key: 'log_level',
    flags: '--log-level <level>',
    env: 'OTSD_LOG_LEVEL',
    description: 'log level',
    value: { kind: 'choice', choices: LOG_LEVELS },
    default: 'info',
  },
  {
    key: 'role',
    flags: '--role <role>',
    env: 'OTSD_ROLE',
    description: 'calendar; mirror of --upstream; or aggregator for the --upstream calendars',
    value: { kind: 'choice', choices: ROLES },
    default: 'calendar',
  },
  {
    key: 'upstream',
    flags: '--upstream <url>',
    env: 'OTSD_UPSTREAM',
    description:
      'the calendar a mirror follows; for an aggregator, a calendar it submits to (repeat for several)',
    value: calendarUrls,
  },
  {
    key: 'upstream_timeout_ms',
    flags: '--upstream-timeout <ms>',
    env: 'OTSD_UPSTREAM_TIMEOUT_MS',
    description: 'longest wait for an upstream calendar to take a round',
    value: number(positiveInteger),
    default: 5000,
  },
  {
    key: 'aggregate',
    flags: '--aggregate',
    env: 'OTSD_AGGREGATE',
    description: 'a mirror also takes digests, and submits its rounds to its upstream',
    value: { kind: 'switch' },
  },
  {
    key: 'mirror_headers',
    flags: '--mirror-headers <how>',
    env: 'OTSD_MIRROR_HEADERS',
    description:
      'a mirror without --bitcoin-rpc checks attestations against headers from its upstream linked to checkpoints, or (insecure-none) not at all',
    value: { kind: 'choice', choices: MIRROR_HEADERS },
    default: 'upstream',
  },
  {
    key: 'metrics_listen',
    flags: '--metrics-listen <host:port>',
    env: 'OTSD_METRICS_LISTEN',
    description: 'serve Prometheus /metrics here (e.g. 127.0.0.1:14789; keep it private)',
    value: { kind: 'text', parse: parseListen },
  },
  {
    key: 'bitcoin.rpc',
    flags: '--bitcoin-rpc <url>',
    env: 'OTSD_BITCOIN_RPC',
    description: 'node JSON-RPC, http://user:pass@host:port',
    value: { kind: 'text' },
    secret: true,
  },
  {
    key: 'bitcoin.rpc_cookie',
    flags: '--bitcoin-rpc-cookie <file>',
    env: 'OTSD_BITCOIN_RPC_COOKIE',
    description: "node's cookie file, instead of credentials in the URL",
    value: { kind: 'text' },
  },
  {
    key: 'bitcoin.network',
    flags: '--bitcoin-network <name>',
    env: 'OTSD_BITCOIN_NETWORK',
    description: 'network of the node, or the one a mirror without a node checks',
    value: { kind: 'choice', choices: NETWORK_NAMES },
    default: 'main',
  },
  {
    key: 'bitcoin.embedded_regtest',
    flags: '--embedded-regtest',
    env: 'OTSD_EMBEDDED_REGTEST',
    description: 'stamp on an embedded bcoin regtest node that mines on a timer (a demo)',
    value: { kind: 'switch' },
  },
  {
    key: 'bitcoin.block_interval',
    flags: '--block-interval <seconds>',
    env: 'OTSD_BLOCK_INTERVAL',
    description: 'embedded regtest: seconds between mined blocks',
    value: number(positiveInteger),
    default: 10,
  },
  {
    key: 'bitcoin.min_confirmations',
    flags: '--min-confirmations <n>',
    env: 'OTSD_MIN_CONFIRMATIONS',
    description: 'confirmations before a proof is written (default 6; 2 embedded)',
    value: number(positiveInteger),
  },
  {
    key: 'bitcoin.stamp_interval',
    flags: '--stamp-interval <seconds>',
    env: 'OTSD_STAMP_INTERVAL',
    description: 'mean time between transactions (default 3600; 5 embedded)',
    value: number(positiveInteger),
  },
  {
    key: 'bitcoin.scan_from',
    flags: '--bitcoin-scan-from <height>',
    env: 'OTSD_BITCOIN_SCAN_FROM',
    description:
      'first block scanned for outputs paying the calendar, when no scan is saved or it began higher (default: tip - 1000)',
    value: number(nonNegativeNumber),
  },
  {
    key: 'bitcoin.fee_rate',
    flags: '--fee-rate <sat/vB>',
    env: 'OTSD_FEE_RATE',
    description: 'fee rate of a first version when the node has no estimate (default 2)',
    value: number(nonNegativeNumber),
  },
  {
    key: 'bitcoin.max_fee_rate',
    flags: '--max-fee-rate <sat/vB>',
    env: 'OTSD_MAX_FEE_RATE',
    description: 'highest fee rate a replacement may pay (default 200)',
    value: number(nonNegativeNumber),
  },
  {
    key: 'bitcoin.max_fee_per_tx',
    flags: '--max-fee-per-tx <sat>',
    env: 'OTSD_MAX_FEE_PER_TX',
    description: 'highest fee of one transaction (default 100000)',
    value: number(nonNegativeNumber),
  },
  {
    key: 'bitcoin.max_spend_per_day',
    flags: '--max-spend-per-day <sat>',
    env: 'OTSD_MAX_SPEND_PER_DAY',
    description: 'most fees committed to in 24 hours (default 1000000)',
    value: number(nonNegativeNumber),
  },
  {
    key: 'bitcoin.master',
    flags: '--master <url>',
    env: 'OTSD_MASTER',
    description:
      "a master calendar whose transactions carry this calendar's tips (repeat for several; docs/bitcoin.md)",
    value: calendarUrls,
  },
  {
    key: 'bitcoin.master_timeout_blocks',
    flags: '--master-timeout-blocks <n>',
    env: 'OTSD_MASTER_TIMEOUT_BLOCKS',
    description: "blocks to wait for a master's proof before stamping alone",
    value: number(positiveInteger),
    default: 18,
  },
  {
    key: 'bitcoin.master_request_timeout_ms',
    flags: '--master-request-timeout <ms>',
    env: 'OTSD_MASTER_REQUEST_TIMEOUT_MS',
    description: 'longest wait for one answer of a master',
    value: number(positiveInteger),
    default: 10_000,
  },
  {
    key: 'bitcoin.master_poll_interval_ms',
    flags: '--master-poll-interval <ms>',
    env: 'OTSD_MASTER_POLL_INTERVAL_MS',
    description: 'besides on every new block, a master is asked for open proofs this often',
    value: number(positiveInteger),
    default: 60_000,
  },
  {
    key: 'external.enabled',
    flags: '--external',
    env: 'OTSD_EXTERNAL',
    description:
      'offer tips to anyone and take their donations, conforming transactions that commit to one (docs/bitcoin.md)',
    value: { kind: 'switch' },
  },
  {
    key: 'external.wait_blocks',
    flags: '--external-wait-blocks <n>',
    env: 'OTSD_EXTERNAL_WAIT_BLOCKS',
    description:
      'longest wait of the own transaction on a pending donation paying at least its fee rate (0: never)',
    value: number(nonNegativeInteger),
    default: DEFAULT_EXTERNAL_SETTINGS.waitBlocks,
  },
  {
    key: 'external.max_tx_bytes',
    flags: '--external-max-tx-bytes <n>',
    env: 'OTSD_EXTERNAL_MAX_TX_BYTES',
    description: 'largest donation taken, witness included',
    value: number(donationBytes),
    default: DEFAULT_EXTERNAL_SETTINGS.maxTxBytes,
  },
  {
    key: 'external.min_fee_rate',
    flags: '--external-min-fee-rate <sat/vB>',
    env: 'OTSD_EXTERNAL_MIN_FEE_RATE',
    description: 'lowest fee rate of a donation taken',
    value: number(nonNegativeNumber),
    default: DEFAULT_EXTERNAL_SETTINGS.minFeeRate,
  },
  {
    key: 'external.max_per_tip',
    flags: '--external-max-per-tip <n>',
    env: 'OTSD_EXTERNAL_MAX_PER_TIP',
    description: 'most pending donations taken for one tip',
    value: number(positiveInteger),
    default: DEFAULT_EXTERNAL_SETTINGS.maxPerTip,
  },
  {
    key: 'external.max_pending',
    flags: '--external-max-pending <n>',
    env: 'OTSD_EXTERNAL_MAX_PENDING',
    description: 'most pending donations taken in all',
    value: number(positiveInteger),
    default: DEFAULT_EXTERNAL_SETTINGS.maxPending,
  },
  {
    key: 'external.tip_window_blocks',
    flags: '--external-tip-window-blocks <n>',
    env: 'OTSD_EXTERNAL_TIP_WINDOW_BLOCKS',
    description: 'blocks a tip stays offered',
    value: number(positiveInteger),
    default: DEFAULT_EXTERNAL_SETTINGS.tipWindowBlocks,
  },
  {
    key: 'prefix.min_nibbles',
    flags: '--prefix-min-nibbles <n>',
    env: 'OTSD_PREFIX_MIN_NIBBLES',
    description: 'shortest prefix answered by GET /timestamps (default 2)',
    value: number(positiveInteger),
  },
  {
    key: 'prefix.max_entries',
    flags: '--prefix-max-entries <n>',
    env: 'OTSD_PREFIX_MAX_ENTRIES',
    description: 'most commitments in one prefix answer (default 1000)',
    value: number(positiveInteger),
  },
];

/** The commander option of `setting`: its flag, variable, default and parser. */
export function optionOf(setting: RunSetting): Option {
  const option = new Option(setting.flags, setting.description).env(setting.env);
  const { value } = setting;
  if (value.kind === 'choice') option.choices(value.choices);
  if ((value.kind === 'text' && value.parse) || value.kind === 'number' || value.kind === 'list')
    option.argParser(value.parse as (value: string, previous: unknown) => unknown);
  if (setting.default !== undefined) {
    const parsed =
      value.kind === 'text' && value.parse ? value.parse(String(setting.default)) : setting.default;
    option.default(parsed, String(setting.default));
  }
  return option;
}

/** Adds every setting of `otsd run` to `command` as a flag, then `--config` and `--show-config`. */
export function addRunOptions(command: Command): Command {
  for (const setting of RUN_SETTINGS) command.addOption(optionOf(setting));
  return command
    .addOption(
      new Option('--config <file>', 'TOML configuration (flags, then OTSD_* variables, override it)').env(
        'OTSD_CONFIG',
      ),
    )
    .addOption(new Option('--show-config', 'print the effective configuration (secrets masked) and exit'));
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
