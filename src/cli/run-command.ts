/** `otsd run`: a calendar node in the foreground until SIGINT or SIGTERM, or a fault that needs a restart. */
import { setTimeout as sleep } from 'node:timers/promises';
import { Command } from 'commander';
import type { Logger } from 'pino';
import type { Aggregator } from '../aggregator/aggregator.js';
import type { AnchoringCoordinator } from '../anchoring/coordinator.js';
import { startAggregatorNode } from '../daemon/aggregator-node.js';
import { startCalendarNode } from '../daemon/calendar-node.js';
import { journalOutageStatus } from '../daemon/journal-warnings.js';
import { createLogger } from '../daemon/logger.js';
import { stopNode, stopSignal } from '../daemon/stop.js';
import { type Notifier, systemdNotifier } from '../daemon/systemd-notify.js';
import { keepTickShapes } from '../daemon/tick-shapes.js';
import { IndexCheckStoppedError, IndexDamagedError } from '../index/errors.js';
import type { FullIndexCheck } from '../index/full-check.js';
import type { Journal } from '../journal/journal.js';
import { nextSteps } from './next-steps.js';
import { bitcoinOptions, calendarNodeOptions, httpLimits, roundOptions } from './node-options.js';
import { applyConfigFile, reloadSettings, showConfig } from './run-config.js';
import { addRunOptions, checkRunOptions, type RunOptions } from './run-options.js';

/** Bound on a graceful stop: past it the process exits anyway, with status 1. */
const SHUTDOWN_TIMEOUT_MS = 30_000;
/** How long after its child ended by a signal otsd may see that signal itself (sent to both). */
const STOP_SEEN_MS = 1000;

/** What `otsd run` starts: a calendar or mirror, or a stand-alone aggregator. */
interface RunningNode {
  url: string;
  aggregator: Aggregator | undefined;
  anchoring?: AnchoringCoordinator | undefined;
  close(): Promise<void>;
}

/** A node started, with what systemd is told once it serves, and a calendar's or mirror's storage. */
interface StartedNode {
  node: RunningNode;
  ready: string;
  /** Absent on an aggregator, which keeps no calendar. */
  journal?: Journal;
  indexCheck?: FullIndexCheck | undefined;
}

export function runCommand(out: (text: string) => void = (text) => process.stdout.write(text)): Command {
  return addRunOptions(
    new Command('run').description(
      'run a calendar: take digests, commit rounds to the journal, serve proofs',
    ),
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
      checkRunOptions(options);
      keepTickShapes();
      const logger = createLogger(options.logLevel);
      const stopRequested = stopSignal();
      let stopAsked: NodeJS.Signals | undefined;
      stopRequested.then((signal) => {
        stopAsked = signal;
      });
      const notifier = systemdNotifier(process.env, (e) =>
        logger.warn({ error: e.message }, 'systemd-notify failed'),
      );
      let started: StartedNode;
      try {
        started = await startNode(options, logger, notifier);
      } catch (e) {
        // the unit stopped while the index's check at start ran, otsd and its child alike: a stop
        // asked for, the index left to be checked at the next start. The child alone ended (an
        // out-of-memory killer's SIGTERM) is a failure, for systemd to restart.
        if (!(e instanceof IndexCheckStoppedError)) throw e;
        const signal = stopAsked ?? (await Promise.race([stopRequested, sleep(STOP_SEEN_MS)]));
        if (!signal) throw e;
        logger.info({ signal }, 'otsd: stopped while it checked the index at start');
        return;
      }
      const { node, ready } = started;
      notifier.ready(ready);
      // the watchdog keeps pinging through a storage fault (otsd waits it out; a restart would not help):
      // systemctl status says what is wrong meanwhile
      started.journal?.onOutage((outage) => notifier.status(outage ? journalOutageStatus(outage) : ready));
      notifier.startWatchdog();
      process.on('SIGHUP', () => reload(command, options, node, logger));
      const reason = await Promise.race([stopRequested, ...faultsNeedingRestart(started, logger)]);
      notifier.stopWatchdog();
      notifier.stopping();
      await stopNode(node, reason, logger, SHUTDOWN_TIMEOUT_MS);
    });
}

/** Starts the node `options.role` names; says on stderr where it listens. */
async function startNode(options: RunOptions, logger: Logger, notifier: Notifier): Promise<StartedNode> {
  const upstreams = options.upstream ?? [];
  if (options.role === 'aggregator') {
    const node = await startAggregatorNode({
      upstreams,
      upstreamTimeoutMs: options.upstreamTimeout,
      ...options.listen,
      ...roundOptions(options),
      httpLimits: httpLimits(options),
      ...(options.metricsListen && { metrics: options.metricsListen }),
      logger,
    });
    process.stderr.write(`otsd: aggregator for ${upstreams.join(', ')} listening on ${node.url}\n`);
    return { node, ready: `aggregating on ${node.url} for ${upstreams.length} calendar(s)` };
  }
  const node = await startCalendarNode(calendarNodeOptions(options, upstreams[0], logger, notifier));
  const { calendar } = node;
  process.stderr.write(
    `otsd: calendar ${calendar.uri} listening on ${node.url} (data dir ${options.dataDir})\n`,
  );
  // for the person at a terminal, and always in the demo (which is run from one)
  if (options.role === 'calendar' && (process.stderr.isTTY || options.embeddedRegtest)) {
    process.stderr.write(
      nextSteps({
        uri: calendar.uri,
        url: node.url,
        dataDir: options.dataDir,
        bitcoin: options.embeddedRegtest ? 'embedded' : options.bitcoinRpc ? 'node' : 'none',
        blockIntervalSeconds: options.blockInterval,
      }),
    );
  }
  return {
    node,
    // journal recovered, index caught up, listening
    ready: `serving ${node.url}, ${calendar.journal.head.records} journal records`,
    journal: calendar.journal,
    indexCheck: calendar.indexCheck,
  };
}

/** SIGHUP: re-reads the reloadable settings (log level, fee caps, digest limits) from the same sources. */
function reload(command: Command, started: RunOptions, node: RunningNode, logger: Logger): void {
  try {
    const reloaded = reloadSettings(command, started);
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
}

/**
 * Faults after which the node stops with status 1 for systemd to start it again, each resolving with
 * its reason: a journal that stopped taking appends for good (the index cannot catch up, not for want
 * of space; opening it again recovers), and an index found damaged, by the full check or by LMDB at a
 * write (its marker is written, and the next start rebuilds it from the journal), with nobody needed.
 */
function faultsNeedingRestart({ journal, indexCheck }: StartedNode, logger: Logger): Promise<string>[] {
  const exit = (reason: string, fields: object, message: string) => {
    logger.fatal(fields, message);
    process.exitCode = 1;
    return reason;
  };
  const indexDamaged = (problem: string) =>
    exit(
      'index damaged',
      { problem },
      'otsd: the index is damaged; exiting for a restart, which rebuilds it from the journal',
    );
  const faults: Promise<string>[] = [];
  if (journal) {
    faults.push(
      journal.failed.then((error) =>
        error.cause instanceof IndexDamagedError
          ? indexDamaged(error.cause.message)
          : exit(
              'journal failure',
              { error: error.message },
              'otsd: the journal stopped taking appends; exiting for a restart',
            ),
      ),
    );
  }
  if (indexCheck) {
    faults.push(
      indexCheck.done.then(() =>
        indexCheck.state === 'index damaged'
          ? indexDamaged(indexCheck.problem as string)
          : new Promise<never>(() => {}),
      ),
    );
  }
  return faults;
}
