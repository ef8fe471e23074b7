/** `otsd run`: a calendar node in the foreground until SIGINT or SIGTERM. */
import { Command, InvalidArgumentError, Option } from 'commander';
import { startCalendarNode } from '../daemon/calendar-node.js';
import { createLogger, LOG_LEVELS, type LogLevel } from '../daemon/logger.js';

/** Bound on a graceful stop: past it the process exits anyway, with status 1. */
const SHUTDOWN_TIMEOUT_MS = 30_000;

export interface RunOptions {
  dataDir: string;
  listen: { host: string; port: number };
  uri?: string;
  roundInterval: number;
  logLevel: LogLevel;
}

export function parseListen(value: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value);
  const port = Number(match?.[3]);
  if (!match || port > 65535) throw new InvalidArgumentError('expected HOST:PORT, e.g. 127.0.0.1:14788');
  return { host: (match[1] ?? match[2]) as string, port };
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

export function runCommand(): Command {
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
      new Option('--uri <url>', 'public URI for PendingAttestations (default: http://LISTEN)').env(
        'OTSD_URI',
      ),
    )
    .addOption(
      new Option('--round-interval <ms>', 'time between aggregation rounds')
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
    .addHelpText(
      'after',
      '\nExample:\n  otsd run --data-dir /var/lib/otsd --listen 127.0.0.1:14788 --uri https://calendar.example.org',
    )
    .action(async (options: RunOptions) => {
      const logger = createLogger(options.logLevel);
      const { host, port } = options.listen;
      const node = await startCalendarNode({
        dataDir: options.dataDir,
        uri: options.uri ?? `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
        host,
        port,
        roundIntervalMs: options.roundInterval,
        logger,
      });
      process.stderr.write(
        `otsd: calendar ${node.calendar.uri} listening on ${node.url} (data dir ${options.dataDir})\n`,
      );
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          logger.info({ signal }, 'otsd: stopping');
          const timer = setTimeout(() => {
            logger.error({ timeoutMs: SHUTDOWN_TIMEOUT_MS }, 'otsd: graceful stop timed out');
            process.exit(1);
          }, SHUTDOWN_TIMEOUT_MS);
          timer.unref();
          node.close().then(resolve, (e: unknown) => {
            logger.error({ err: e }, 'otsd: error while stopping');
            process.exitCode = 1;
            resolve();
          });
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
      });
    });
}
