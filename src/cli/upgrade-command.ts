/**
 * `otsd upgrade FILE.ots`: fetches the Bitcoin proofs of a file's pending attestations through prefix
 * queries, so no calendar learns which commitment is the file's. Like the reference client, it contacts
 * only calendars on a whitelist (the public calendars the reference trusts, plus `--calendar URL`).
 */
import { copyFileSync, writeFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { BitcoinBlockHeaderAttestation, toHex } from '../ots/index.js';
import {
  DEFAULT_CALENDAR_WHITELIST,
  RemoteCalendar,
  UrlWhitelist,
  upgradeByPrefix,
} from '../remote/index.js';
import { pendingNodes } from '../web/pending-nodes.js';
import { positiveInteger } from './number-arguments.js';
import { readTimestampFile } from './read-timestamp-file.js';

export interface UpgradeOptions {
  prefixBits?: number;
  k: number;
  /** Calendars added to the whitelist. */
  calendar?: string[];
  /** Whether the reference's public calendars are on the whitelist (`--no-default-whitelist`: no). */
  defaultWhitelist?: boolean;
}

export async function upgradeCommand(
  path: string,
  options: UpgradeOptions,
): Promise<{ complete: boolean; lines: string[] }> {
  const file = readTimestampFile(path);
  const lines: string[] = [];
  const whitelist = new UrlWhitelist([
    ...(options.defaultWhitelist === false ? [] : DEFAULT_CALENDAR_WHITELIST),
    ...(options.calendar ?? []),
  ]);
  let changed = false;
  for (const { node, attestation } of pendingNodes(file.timestamp)) {
    const url = attestation.uri;
    if (!whitelist.has(url)) {
      lines.push(`Calendar ${url}: not asked, it is not in the whitelist (add it with --calendar ${url})`);
      continue;
    }
    const choice =
      options.prefixBits !== undefined
        ? { prefix: toHex(node.msg).slice(0, Math.ceil(options.prefixBits / 4)) }
        : { k: options.k };
    try {
      const result = await upgradeByPrefix(new RemoteCalendar(url), node.msg, choice);
      const among = `prefix ${result.prefix}, among ${result.anonymitySet} commitments`;
      // the calendar's own count sized the prefix: a calendar that overstates it narrows the set
      if ('k' in choice && result.anonymitySet < choice.k) {
        lines.push(
          `Calendar ${url}: warning: only ${result.anonymitySet} ${result.anonymitySet === 1 ? 'commitment' : 'commitments'} under prefix ${result.prefix}, fewer than the ${choice.k} asked for (--k): the calendar can tell this file's commitment from fewer others than that`,
        );
      }
      if (result.timestamp) {
        node.merge(result.timestamp);
        changed = true;
        lines.push(`Calendar ${url}: complete (${among})`);
      } else {
        lines.push(`Calendar ${url}: pending (${among})`);
      }
    } catch (e) {
      lines.push(`Calendar ${url}: ${(e as Error).message}`);
    }
  }
  if (changed) {
    copyFileSync(path, `${path}.bak`);
    writeFileSync(path, file.toBytes());
  }
  const complete = [...file.timestamp.allAttestations()].some(
    ([, a]) => a instanceof BitcoinBlockHeaderAttestation,
  );
  lines.push(complete ? 'Success! Timestamp complete' : 'Failed! Timestamp not complete');
  return { complete, lines };
}

export function upgradeCommandDefinition(out: (text: string) => void): Command {
  return new Command('upgrade')
    .description("fetch a .ots file's Bitcoin proofs by prefix query, hiding which commitment is its own")
    .argument('<file>', 'detached timestamp file (.ots); the old one is kept as FILE.bak')
    .addOption(
      new Option(
        '--prefix-bits <n>',
        'ask for the first N bits of the commitment (rounded up to hex digits)',
      ).argParser(positiveInteger),
    )
    .addOption(
      new Option('--k <n>', 'otherwise: pick the prefix for an anonymity set of about K commitments')
        .default(20)
        .argParser(positiveInteger),
    )
    .addOption(
      new Option(
        '--calendar <url>',
        'add a calendar to the whitelist (a glob for the host, as the ots client; repeatable)',
      ).argParser((url: string, previous: string[] = []) => [...previous, url]),
    )
    .addOption(
      new Option(
        '--no-default-whitelist',
        `ask only the --calendar calendars, not the public ones (${DEFAULT_CALENDAR_WHITELIST.join(', ')})`,
      ),
    )
    .addHelpText(
      'after',
      '\nExamples:\n  otsd upgrade README.md.ots --k 100\n  otsd upgrade README.md.ots --prefix-bits 12\n  otsd upgrade README.md.ots --calendar https://calendar.example.org',
    )
    .action(async (path: string, options: UpgradeOptions) => {
      const result = await upgradeCommand(path, options);
      out(`${result.lines.join('\n')}\n`);
      if (!result.complete) process.exitCode = 1;
    });
}
