/** `otsd status`: a one-screen summary of a running node, from its JSON status. */
import { Command, Option } from 'commander';
import { CliError } from './cli-error.js';

interface StatusJson {
  role?: 'calendar' | 'mirror' | 'aggregator';
  version: string;
  /** Absent from nodes running an older otsd. */
  warnings?: string[];
  /** The rest of the calendar fields are absent on an aggregator. */
  uri?: string;
  uptime_seconds: number;
  pending_commitments?: number;
  commitments?: number;
  waiting_digests: number;
  /** `unavailable` is absent from older otsd. */
  journal?: {
    records: number;
    chain_hash: string;
    unavailable?: { reason: string; since_seconds: number; retries: number } | null;
  };
  last_minute: { rounds: number; digests: number };
  anchoring?: {
    network: string;
    regtest_demo: boolean;
    address: string;
    last_anchor_age_seconds: number | null;
    in_flight: {
      txid: string;
      versions: number;
      confirmations: number;
    } | null;
    balance_sats: number;
    /** Absent from older otsd. */
    chain_scan?: { state: string; from?: number; scanned_height?: number; blocks_to_go?: number };
    last_error: string | null;
  };
  mirror?: {
    upstream: string;
    lag_records: number | null;
    /** Why it stopped following for good (a fork). */
    integrity_error: string | null;
    /** Absent from older otsd. */
    state?: 'following' | 'refusing' | 'unreachable' | 'waiting' | 'stopped';
    refusals?: number;
    last_refusal?: string | null;
    last_refusal_age_seconds?: number | null;
    unreachable?: string | null;
    waiting?: string | null;
  };
  collaboration?: {
    masters: {
      url: string;
      state: string;
      consecutive_misses: number;
      open_delegations: number;
      last_proof_blocks: number | null;
      last_error: string | null;
    }[];
    /** Absent from older otsd. */
    max_wait_blocks?: number;
    /** Absent from older otsd. */
    next_deadline?: number | null;
    delegations_in_flight: number;
    waiting_commitments: number;
    fallbacks: Record<string, number>;
    fallback_can_pay: boolean;
  };
  external?: {
    offered_tips: number;
    donations: Record<string, number>;
    fees_saved_sats: number;
  };
  upstreams?: {
    url: string;
    failures: number;
    rounds: number;
    consecutive_failures: number;
    last_latency_ms: number | null;
    last_error: string | null;
  }[];
}

const MIRROR_STATES = {
  following: 'following',
  refusing: "retrying: the upstream's data was refused",
  unreachable: 'retrying: the upstream is unreachable',
  waiting: 'waiting for a Bitcoin attestation to be confirmed',
  stopped: 'STOPPED for good: the upstream forked',
} as const;

export function formatStatus(s: StatusJson): string {
  const lines = [`otsd ${s.version}  ${s.uri ?? s.role ?? ''}  up ${s.uptime_seconds} s`];
  for (const warning of s.warnings ?? []) lines.push(`WARNING      ${warning}`);
  if (s.journal) {
    const outage = s.journal.unavailable;
    lines.push(
      `journal      ${s.journal.records} records, head ${s.journal.chain_hash.slice(0, 16)}...${outage ? `, NOT WRITING for ${outage.since_seconds} s: ${outage.reason}` : ''}`,
      `commitments  ${s.pending_commitments} pending${s.commitments === undefined ? '' : ` of ${s.commitments}`}, ${s.waiting_digests} digests waiting`,
    );
  } else {
    lines.push(`digests      ${s.waiting_digests} waiting`);
  }
  lines.push(`last minute  ${s.last_minute.digests} digests in ${s.last_minute.rounds} rounds`);
  for (const u of s.upstreams ?? []) {
    lines.push(
      `upstream     ${u.url}: ${u.rounds === 0 ? 'no rounds yet' : u.consecutive_failures === 0 ? `ok, ${u.last_latency_ms} ms` : `FAILING ${u.consecutive_failures} rounds: ${u.last_error}`} (${u.failures} of ${u.rounds} rounds failed)`,
    );
  }
  const a = s.anchoring;
  if (a) {
    lines.push(
      `bitcoin      ${a.network}${a.regtest_demo ? ' (regtest demo)' : ''}, ${a.balance_sats} sat at ${a.address}`,
    );
    const scan = a.chain_scan;
    if (scan)
      lines.push(
        `chain        ${scan.state === 'scanning' ? `scanning from ${scan.from}, ${scan.blocks_to_go} blocks to go` : scan.state === 'following' ? `following, at height ${scan.scanned_height}` : scan.state}`,
      );
    lines.push(
      `last anchor  ${a.last_anchor_age_seconds === null ? 'none since start' : `${a.last_anchor_age_seconds} s ago`}`,
    );
    if (a.in_flight)
      lines.push(
        `in flight    ${a.in_flight.txid}, ${a.in_flight.versions} version(s), ${a.in_flight.confirmations} confirmations`,
      );
    if (a.last_error) lines.push(`problem      ${a.last_error}`);
  }
  const c = s.collaboration;
  if (c) {
    for (const master of c.masters) {
      const detail =
        master.state === 'ok'
          ? `ok, ${master.open_delegations} open${master.last_proof_blocks === null ? '' : `, last proof after ${master.last_proof_blocks} blocks`}`
          : `${master.state.toUpperCase()}, ${master.consecutive_misses} misses, ${master.open_delegations} open`;
      // a refused proof leaves a master "ok" until its deadline: its last error is shown whatever the state
      lines.push(
        `master       ${master.url}: ${detail}${master.last_error ? `; last error: ${master.last_error}` : ''}`,
      );
    }
    const deadline = typeof c.next_deadline === 'number' ? ` until block ${c.next_deadline}` : '';
    lines.push(
      `delegations  ${c.delegations_in_flight} in flight, ${c.waiting_commitments} commitments waiting on a master${deadline}`,
      `fallbacks    ${Object.entries(c.fallbacks)
        .map(([reason, count]) => `${reason} ${count}`)
        .join(', ')}${c.fallback_can_pay ? '' : '; the fallback CANNOT PAY (no spendable coin)'}`,
    );
  }
  const x = s.external;
  if (x) {
    const donations = Object.entries(x.donations).filter(([, count]) => count > 0);
    lines.push(
      `external     ${x.offered_tips} tip(s) offered; donations ${donations.length === 0 ? 'none' : donations.map(([state, count]) => `${state} ${count}`).join(', ')}; ${x.fees_saved_sats} sat of fees paid by donors`,
    );
  }
  const m = s.mirror;
  if (m) {
    lines.push(
      `mirror of    ${m.upstream}, ${m.lag_records ?? '?'} records behind${m.state ? `, ${MIRROR_STATES[m.state]}` : ''}`,
    );
    if (m.unreachable) lines.push(`UNREACHABLE  ${m.unreachable}`);
    if (m.waiting) lines.push(`WAITING      ${m.waiting}`);
    if (m.last_refusal)
      lines.push(
        `REFUSED      ${m.refusals} times since start, last ${m.last_refusal_age_seconds} s ago: ${m.last_refusal}`,
      );
    if (m.integrity_error) lines.push(`STOPPED      ${m.integrity_error}`);
  }
  return `${lines.join('\n')}\n`;
}

export function statusCommand(out: (text: string) => void): Command {
  return new Command('status')
    .description(
      'print a one-screen summary of a running otsd; exit status 1 while it cannot take digests (its journal cannot write)',
    )
    .addOption(new Option('--url <url>', 'the node').env('OTSD_STATUS_URL').default('http://127.0.0.1:14788'))
    .addHelpText('after', '\nExample:\n  otsd status --url http://127.0.0.1:14788')
    .action(async (options: { url: string }) => {
      let response: Response;
      try {
        response = await fetch(options.url, {
          headers: { accept: 'application/json' },
          signal: AbortSignal.timeout(10_000),
        });
      } catch (e) {
        throw new CliError(
          `cannot reach ${options.url}: ${(e as { cause?: Error }).cause?.message ?? (e as Error).message}`,
        );
      }
      if (response.status !== 200) throw new CliError(`${options.url} answered HTTP ${response.status}`);
      const status = (await response.json()) as StatusJson;
      out(formatStatus(status));
      // a script or a container's health check reads the exit status
      if (status.journal?.unavailable) {
        throw new CliError(
          'the calendar is not taking digests: its journal cannot write (it retries by itself)',
        );
      }
    });
}
