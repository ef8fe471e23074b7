#!/usr/bin/env node
/** The `otsd` command. */
import { Command, CommanderError } from 'commander';
import { VERSION } from '../daemon/version.js';
import { CliError } from './cli-error.js';
import { configCommand } from './config-command.js';
import { infoCommand } from './info-command.js';
import { initCommand } from './init-command.js';
import { reindexCommand, verifyJournalCommand } from './journal-commands.js';
import { runCommand } from './run-command.js';
import { statusCommand } from './status-command.js';
import { upgradeCommandDefinition } from './upgrade-command.js';
import { verifyCommand } from './verify-command.js';
import { walletCommand } from './wallet-command.js';

export function buildProgram(out: (text: string) => void): Command {
  const program = new Command('otsd')
    .description('OpenTimestamps calendar server and tools')
    .version(VERSION)
    .showHelpAfterError()
    .exitOverride();

  program
    .command('info')
    .description('print the timestamp tree of a .ots file, as `ots info` does')
    .argument('<file>', 'detached timestamp file (.ots)')
    .addHelpText('after', '\nExample:\n  otsd info hello-world.txt.ots')
    .action((file: string) => out(infoCommand(file)));

  program
    .command('verify')
    .description("check a .ots file's Bitcoin attestations against given block headers, offline")
    .argument('<file>', 'detached timestamp file (.ots)')
    .requiredOption(
      '--header <hex...>',
      '80-byte block header in hex (`bitcoin-cli getblockheader <hash> false`)',
    )
    .option(
      '--target <file>',
      'the timestamped file, to check its digest (default: FILE without .ots, if present)',
    )
    .option('--digest <hex>', 'the digest of the timestamped file, instead of --target')
    .addHelpText(
      'after',
      '\nExample:\n  otsd verify hello-world.txt.ots --header "$(bitcoin-cli getblockheader $(bitcoin-cli getblockhash 358391) false)"',
    )
    .action((file: string, options: { header: string[]; target?: string; digest?: string }) => {
      const result = verifyCommand(file, options);
      out(`${result.lines.join('\n')}\n`);
      if (!result.ok) process.exitCode = 1;
    });

  program.addCommand(runCommand(out));
  program.addCommand(initCommand(out));
  program.addCommand(verifyJournalCommand(out));
  program.addCommand(reindexCommand(out));
  program.addCommand(walletCommand(out));
  program.addCommand(upgradeCommandDefinition(out));
  program.addCommand(statusCommand(out));
  program.addCommand(configCommand(out));
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram((text) => process.stdout.write(text));
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode;
      return;
    }
    // one line for the user; a CliError is an expected failure, anything else is reported by its message
    process.stderr.write(`otsd: ${e instanceof CliError ? '' : 'error: '}${(e as Error).message}\n`);
    process.exitCode = 1;
  }
}

await main(process.argv);
