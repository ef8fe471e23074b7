/**
 * The TOML configuration file: every `otsd run` flag has a key (see deploy/otsd.example.toml).
 * Flags override environment variables, which override the file. Every problem is reported at once,
 * naming the key, the value and what was expected.
 * @module
 */
import { readFileSync } from 'node:fs';
import { parse } from 'smol-toml';
import { MAX_DONATION_BYTES_LIMIT } from '../bitcoin/donation-rules.js';
import { NETWORK_NAMES } from '../bitcoin/network.js';
import { isProxyAddress } from '../http/trusted-proxies.js';
import { isCalendarUrl } from '../remote/calendar-client.js';
import { MIRROR_HEADERS } from './mirror-role.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Check = (value: unknown) => unknown | string;

const text: Check = (v) => (typeof v === 'string' && v.length > 0 ? v : 'a non-empty string');
const positiveInteger: Check = (v) => (Number.isInteger(v) && (v as number) > 0 ? v : 'a positive integer');
const nonNegativeInteger: Check = (v) =>
  Number.isInteger(v) && (v as number) >= 0 ? v : 'a non-negative integer';
const nonNegative: Check = (v) =>
  typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 'a non-negative number';
const donationBytes: Check = (v) =>
  Number.isInteger(v) && (v as number) > 0 && (v as number) <= MAX_DONATION_BYTES_LIMIT
    ? v
    : `a positive integer up to ${MAX_DONATION_BYTES_LIMIT}`;
const boolean: Check = (v) => (typeof v === 'boolean' ? v : 'true or false');
const oneOf =
  (...choices: string[]): Check =>
  (v) =>
    typeof v === 'string' && choices.includes(v) ? v : `one of ${choices.join(', ')}`;
/** One string, or a non-empty list of strings, each passing `isItem`: always a list. */
const listOf =
  (isItem: (s: string) => boolean, what: string): Check =>
  (v) => {
    const list = typeof v === 'string' ? [v] : v;
    return Array.isArray(list) && list.length > 0 && list.every((s) => typeof s === 'string' && isItem(s))
      ? list
      : what;
  };
/** Calendar URLs, checked as `otsd run` checks them (isCalendarUrl): what passes here starts there. */
const urls = listOf(isCalendarUrl, 'an http(s) URL or a list of them');
/** Reverse proxies' addresses, as `--trust-proxy` takes them (trusted-proxies.ts). */
const proxyAddresses = listOf(isProxyAddress, 'an IP address or CIDR range, or a list of them');
const listen: Check = (v) => {
  const match = typeof v === 'string' ? /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(v) : null;
  return match && Number(match[3]) <= 65535
    ? { host: match[1] ?? match[2], port: Number(match[3]) }
    : 'HOST:PORT';
};

/** TOML key -> the `otsd run` option it sets, and how its value is checked. */
export const CONFIG_KEYS: Readonly<Record<string, { option: string; check: Check; secret?: boolean }>> = {
  data_dir: { option: 'dataDir', check: text },
  listen: { option: 'listen', check: listen },
  uri: { option: 'uri', check: text },
  round_interval_ms: { option: 'roundInterval', check: positiveInteger },
  max_round_digests: { option: 'maxRoundDigests', check: positiveInteger },
  max_waiting_digests: { option: 'maxWaitingDigests', check: positiveInteger },
  max_requests_in_flight: { option: 'maxRequestsInFlight', check: positiveInteger },
  max_requests_per_connection: { option: 'maxRequestsPerConnection', check: positiveInteger },
  listen_backlog: { option: 'listenBacklog', check: positiveInteger },
  max_connections: { option: 'maxConnections', check: positiveInteger },
  trust_proxy: { option: 'trustProxy', check: proxyAddresses },
  log_level: {
    option: 'logLevel',
    check: oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'),
  },
  role: { option: 'role', check: oneOf('calendar', 'mirror', 'aggregator') },
  upstream: { option: 'upstream', check: urls },
  upstream_timeout_ms: { option: 'upstreamTimeout', check: positiveInteger },
  aggregate: { option: 'aggregate', check: boolean },
  mirror_headers: { option: 'mirrorHeaders', check: oneOf(...MIRROR_HEADERS) },
  metrics_listen: { option: 'metricsListen', check: listen },
  'bitcoin.rpc': { option: 'bitcoinRpc', check: text, secret: true },
  'bitcoin.rpc_cookie': { option: 'bitcoinRpcCookie', check: text },
  'bitcoin.network': { option: 'bitcoinNetwork', check: oneOf(...NETWORK_NAMES) },
  'bitcoin.embedded_regtest': { option: 'embeddedRegtest', check: boolean },
  'bitcoin.block_interval': { option: 'blockInterval', check: positiveInteger },
  'bitcoin.min_confirmations': { option: 'minConfirmations', check: positiveInteger },
  'bitcoin.stamp_interval': { option: 'stampInterval', check: positiveInteger },
  'bitcoin.scan_from': { option: 'bitcoinScanFrom', check: nonNegative },
  'bitcoin.fee_rate': { option: 'feeRate', check: nonNegative },
  'bitcoin.max_fee_rate': { option: 'maxFeeRate', check: nonNegative },
  'bitcoin.max_fee_per_tx': { option: 'maxFeePerTx', check: nonNegative },
  'bitcoin.max_spend_per_day': { option: 'maxSpendPerDay', check: nonNegative },
  'bitcoin.master': { option: 'master', check: urls },
  'bitcoin.master_timeout_blocks': { option: 'masterTimeoutBlocks', check: positiveInteger },
  'bitcoin.master_request_timeout_ms': { option: 'masterRequestTimeout', check: positiveInteger },
  'bitcoin.master_poll_interval_ms': { option: 'masterPollInterval', check: positiveInteger },
  'external.enabled': { option: 'external', check: boolean },
  'external.wait_blocks': { option: 'externalWaitBlocks', check: nonNegativeInteger },
  'external.max_tx_bytes': { option: 'externalMaxTxBytes', check: donationBytes },
  'external.min_fee_rate': { option: 'externalMinFeeRate', check: nonNegative },
  'external.max_per_tip': { option: 'externalMaxPerTip', check: positiveInteger },
  'external.max_pending': { option: 'externalMaxPending', check: positiveInteger },
  'external.tip_window_blocks': { option: 'externalTipWindowBlocks', check: positiveInteger },
  'prefix.min_nibbles': { option: 'prefixMinNibbles', check: positiveInteger },
  'prefix.max_entries': { option: 'prefixMaxEntries', check: positiveInteger },
};

function flatten(table: Record<string, unknown>, prefix = ''): [string, unknown][] {
  return Object.entries(table).flatMap(([key, value]) =>
    value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date)
      ? flatten(value as Record<string, unknown>, `${prefix}${key}.`)
      : [[`${prefix}${key}`, value] as [string, unknown]],
  );
}

/** The option values a config file sets, by option name; ConfigError listing every problem. */
export function loadConfigFile(path: string): Record<string, unknown> {
  let table: Record<string, unknown>;
  try {
    table = parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new ConfigError(`config ${path}: ${(e as Error).message.split('\n')[0]}`);
  }
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, value] of flatten(table)) {
    const spec = CONFIG_KEYS[key];
    if (!spec) {
      problems.push(`${key}: unknown key`);
      continue;
    }
    const checked = spec.check(value);
    if (typeof checked === 'string' && checked !== value) {
      problems.push(`${key}: expected ${checked}, got ${JSON.stringify(value)}`);
    } else {
      values[spec.option] = checked;
    }
  }
  if (problems.length > 0) throw new ConfigError(`config ${path}:\n  ${problems.join('\n  ')}`);
  return values;
}

/** A copy of an RPC URL without its password, for showing the effective configuration. */
export function maskSecret(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    const url = new URL(value);
    if (url.password) url.password = '****';
    return url.toString();
  } catch {
    return '****';
  }
}
