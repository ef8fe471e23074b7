/** What a calendar or mirror node reports on its status page, its health check and its metrics. */
import type { RecentActivity } from '../aggregator/activity.js';
import type { Aggregator } from '../aggregator/aggregator.js';
import type { UpstreamSink } from '../aggregator/upstream-sink.js';
import type { Calendar } from '../calendar/calendar.js';
import type { PrefixLimits } from '../http/prefix-route.js';
import type { NodeStatus } from '../http/status-route.js';
import type { Mirror } from '../mirror/mirror.js';
import { toHex } from '../ots/index.js';
import { journalOutageWarning } from './journal-warnings.js';
import type { StampingRole } from './stamping-role.js';
import { VERSION } from './version.js';

/** On the status page of a calendar with masters whose own key cannot pay for its fallback. */
export const COLLABORATION_CANNOT_PAY_WARNING =
  "the calendar's key has no spendable coin: its own transaction, the fallback when every master fails, cannot pay; fund the address, or it is anchored through its masters alone";

/** The parts of a running calendar node its status is read from. */
export interface CalendarNodeParts {
  calendar: Calendar;
  aggregator: Aggregator | undefined;
  activity: RecentActivity;
  prefixLimits: PrefixLimits;
  /** Warnings that hold as long as the node runs (said at start too). */
  warnings: readonly string[];
  mirror: Mirror | undefined;
  /** Where a mirror that aggregates sends its rounds. */
  upstreams: UpstreamSink | undefined;
  bitcoin: StampingRole | undefined;
}

/** The node's status as it is now, read on each call (nothing in it grows with the calendar's history). */
export function calendarNodeStatus(parts: CalendarNodeParts): () => NodeStatus {
  const { calendar, aggregator, activity, mirror, upstreams, bitcoin } = parts;
  const startedAt = Date.now();
  const anchoringWarnings = (): string[] =>
    bitcoin?.collaboration && !bitcoin.anchoring.status().canPay ? [COLLABORATION_CANNOT_PAY_WARNING] : [];
  return () => {
    const outage = calendar.journal.unavailable;
    return {
      role: mirror ? 'mirror' : 'calendar',
      version: VERSION,
      uptimeSeconds: Math.floor((Date.now() - startedAt) / 1000),
      calendar: {
        uri: calendar.uri,
        journal: {
          records: calendar.journal.head.records,
          chainHash: toHex(calendar.journal.head.chainHash),
          ...(outage && { unavailable: outage }),
        },
        ...(calendar.indexCheck && { indexCheck: calendar.indexCheck.state }),
        pendingCommitments: calendar.index.pendingCount,
        commitments: calendar.index.commitmentCount,
        prefixQueries: parts.prefixLimits,
      },
      waitingDigests: aggregator?.waiting ?? 0,
      roundIntervalMs: aggregator?.intervalMs ?? 0,
      lastMinute: activity.lastMinute(),
      totals: { ...(aggregator?.stats ?? { rounds: 0, digests: 0 }) },
      warnings: [
        ...(outage ? [journalOutageWarning(outage)] : []),
        ...(calendar.indexCheck?.warning() ?? []),
        ...parts.warnings,
        ...anchoringWarnings(),
      ],
      ...(mirror && { mirror: mirror.status() }),
      ...(upstreams && { upstreams: upstreams.health() }),
      ...(bitcoin && {
        anchoring: {
          ...bitcoin.anchoring.status(),
          network: bitcoin.network,
          demo: bitcoin.embedded !== undefined,
          minConfirmations: bitcoin.minConfirmations,
        },
      }),
      ...(bitcoin?.collaboration && { collaboration: bitcoin.collaboration.status() }),
      ...(bitcoin?.external && { external: bitcoin.external.status() }),
    };
  };
}
