/** `otsd config check FILE` and `otsd config show [run options]`. */
import { Command } from 'commander';
import { CliError } from './cli-error.js';
import { loadConfigFile } from './config-file.js';
import { runCommand } from './run-command.js';

export function configCommand(out: (text: string) => void): Command {
  const config = new Command('config').description('check or show the configuration');
  config
    .command('check')
    .description('validate a TOML configuration file: one line per problem')
    .argument('<file>', 'configuration file')
    .addHelpText('after', '\nExample:\n  otsd config check /etc/otsd/otsd.toml')
    .action((file: string) => {
      try {
        out(`config ${file} ok: ${Object.keys(loadConfigFile(file)).length} settings\n`);
      } catch (e) {
        throw new CliError((e as Error).message);
      }
    });
  config
    .command('show')
    .description('print the effective configuration of `otsd run` with the same options (secrets masked)')
    .allowUnknownOption()
    .allowExcessArguments()
    .helpOption(false)
    .addHelpText(
      'after',
      '\nExample:\n  otsd config show --config /etc/otsd/otsd.toml --listen 127.0.0.1:9000',
    )
    .action(async (_options: unknown, command: Command) => {
      await runCommand(out)
        .exitOverride()
        .parseAsync(['--show-config', ...command.args], { from: 'user' });
    });
  return config;
}
