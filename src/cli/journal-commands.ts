/**
 * `otsd verify-journal DIR` and `otsd reindex DIR`: offline tools on a calendar's data directory
 * (verify-journal also re-checks a mirror's proofs against headers, online, when asked).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { NETWORK_NAMES, type NetworkName } from '../bitcoin/network.js';
import { NodeClient } from '../bitcoin/node-client.js';
import { openStorage } from '../calendar/open-storage.js';
import { createLogger } from '../daemon/logger.js';
import { checkMirrorSettings, type MirrorChecks, mirrorHeaderCheck } from '../daemon/mirror-role.js';
import { catchUpIndex } from '../index/catch-up.js';
import { lockDataDir } from '../journal/data-dir-lock.js';
import { JournalCorruptError } from '../journal/journal.js';
import { formatHead, verifyJournal } from '../journal/verify.js';
import { type AttestationContext, recheckProofAttestations } from '../mirror/verify-record.js';
import { CliError } from './cli-error.js';

/** A data dir holds `journal/`; a journal directory given directly works too. */
const journalDir = (dir: string) => (existsSync(join(dir, 'journal')) ? join(dir, 'journal') : dir);

interface VerifyJournalOptions {
  upstream?: string;
  bitcoinRpc?: string;
  bitcoinRpcCookie?: string;
  bitcoinNetwork: NetworkName;
  uri?: string;
}

export function verifyJournalCommand(out: (text: string) => void): Command {
  return new Command('verify-journal')
    .description(
      "check every record and chain hash of a journal, offline, and print its head; with --upstream or --bitcoin-rpc, also every proof's attestations, as a mirror checks those it copies",
    )
    .argument('<dir>', 'data directory (or its journal/ directory)')
    .addOption(
      new Option(
        '--upstream <url>',
        "the calendar a mirror follows: check every proof's Bitcoin attestations against its headers, linked to the compiled-in checkpoints (unless --bitcoin-rpc)",
      ),
    )
    .addOption(
      new Option('--bitcoin-rpc <url>', "check every proof's Bitcoin attestations against this node"),
    )
    .addOption(
      new Option('--bitcoin-rpc-cookie <file>', "node's cookie file, instead of credentials in the URL"),
    )
    .addOption(
      new Option('--bitcoin-network <name>', 'network of the proofs (checked without a node: main only)')
        .default('main')
        .choices(NETWORK_NAMES),
    )
    .addOption(
      new Option(
        '--uri <url>',
        'the calendar whose proofs these are: the one URI a pending attestation may name (default: --upstream)',
      ),
    )
    .addHelpText(
      'after',
      '\nExamples:\n  otsd verify-journal /var/lib/otsd\n  otsd verify-journal /var/lib/otsd-mirror --upstream https://calendar.example.org',
    )
    .action(async (dir: string, options: VerifyJournalOptions) => {
      if (!existsSync(dir)) throw new CliError(`no such directory: ${dir}`);
      const check = attestationCheck(options);
      let proofs = 0;
      const result = await verifyJournal(journalDir(dir), {
        onProgress: (records) => process.stderr.write(`verified ${records} records\n`),
        ...(check && {
          checkProof: (record) => {
            proofs++;
            return recheckProofAttestations(record, check.context);
          },
        }),
      });
      if (result.tornTail)
        out(`note: torn last record, truncated when the calendar starts: ${result.tornTail}\n`);
      if (!result.ok) throw new CliError(`journal invalid: ${result.errors.join('; ')}`);
      const checked = check
        ? `; the attestations of its ${proofs} ${proofs === 1 ? 'proof' : 'proofs'} check out against ${check.against}`
        : '';
      out(`journal ok: ${formatHead(result)}, ${result.segments} segments${checked}\n`);
    });
}

/** How the proofs' attestations are checked: as a mirror with the same settings checks them. */
function attestationCheck(
  o: VerifyJournalOptions,
): { context: AttestationContext; against: string } | undefined {
  if (o.upstream === undefined && o.bitcoinRpc === undefined) return undefined;
  const calendarUri = o.uri ?? o.upstream?.replace(/\/+$/, '');
  if (calendarUri === undefined)
    throw new CliError('--uri is needed with --bitcoin-rpc alone: the calendar whose proofs these are');
  const checks: MirrorChecks = {
    upstream: o.upstream ?? '',
    headers: 'upstream',
    network: o.bitcoinNetwork,
    node: o.bitcoinRpc
      ? new NodeClient({ url: o.bitcoinRpc, ...(o.bitcoinRpcCookie && { cookieFile: o.bitcoinRpcCookie }) })
      : undefined,
  };
  try {
    checkMirrorSettings(checks);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  return {
    context: { calendarUri, checkHeader: mirrorHeaderCheck(checks) },
    against: checks.node ? `the node ${checks.node.rpc.displayUrl}` : `the headers of ${o.upstream}`,
  };
}

export function reindexCommand(out: (text: string) => void): Command {
  return new Command('reindex')
    .description(
      'rebuild the index of a data directory from its journal alone (the calendar must be stopped)',
    )
    .argument('<dir>', 'data directory')
    .addOption(
      new Option(
        '--accept-loss',
        'go on with the journal as it is: without acknowledged records it lacks (a lost or cut segment), and cut at the first bad record of its last segment',
      ),
    )
    .addHelpText('after', '\nExample:\n  otsd reindex /var/lib/otsd')
    .action(async (dir: string, options: { acceptLoss?: boolean }) => {
      if (!existsSync(join(dir, 'journal'))) throw new CliError(`${dir} has no journal/ directory`);
      let unlock: () => void;
      try {
        unlock = lockDataDir(dir);
      } catch (e) {
        throw new CliError((e as Error).message);
      }
      const log = createLogger('warn');
      let storage: Awaited<ReturnType<typeof openStorage>>;
      try {
        storage = await openStorage({
          dataDir: dir,
          log,
          acceptLoss: options.acceptLoss === true,
        });
      } catch (e) {
        unlock();
        if (e instanceof JournalCorruptError) throw new CliError(e.message);
        throw e;
      }
      const { journal } = storage;
      const { index } = storage;
      const lost = (index.acknowledged?.number ?? 0) - journal.head.records;
      const started = Date.now();
      try {
        // one transaction: a reindex that dies keeps the acknowledged position for the next start
        index.clear({ forgetAcknowledged: options.acceptLoss === true });
        await catchUpIndex(index, journal, {
          onProgress: (applied, total) => {
            const seconds = (Date.now() - started) / 1000;
            process.stderr.write(
              `reindex: ${applied}/${total} records (${Math.round(applied / Math.max(seconds, 0.001))}/s)\n`,
            );
          },
          onThreadFailure: (e) => process.stderr.write(`reindex: ${e.message}; reading on in this thread\n`),
        });
        if (options.acceptLoss && lost > 0) {
          out(
            `accepted the loss of ${lost} records the index had applied (${journal.head.records} to ${journal.head.records + lost - 1})\n`,
          );
        }
        out(
          `index rebuilt: ${index.applied.number} records applied, ${index.pendingCount} commitments pending\n`,
        );
      } finally {
        await index.close();
        await journal.close();
        unlock();
      }
    });
}
