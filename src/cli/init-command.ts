/** `otsd init DIR`: a new data directory with its journal, index, Bitcoin key (0600) and config. */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { NETWORK_NAMES, NETWORKS, type NetworkName } from '../bitcoin/network.js';
import { loadWalletKey } from '../bitcoin/wallet-key.js';
import { Calendar } from '../calendar/calendar.js';
import { PendingAttestation } from '../ots/index.js';
import { CliError } from './cli-error.js';

export function initCommand(out: (text: string) => void): Command {
  return new Command('init')
    .description(
      'create a data directory: journal, index, Bitcoin key (mode 0600) and otsd.toml; never overwrites',
    )
    .argument('<dir>', 'the new data directory (must not exist, or be empty)')
    .requiredOption('--uri <url>', 'public URI of the calendar, e.g. https://calendar.example.org')
    .addOption(new Option('--bitcoin-network <name>', 'network').default('main').choices(NETWORK_NAMES))
    .addHelpText(
      'after',
      '\nExample:\n  otsd init /var/lib/otsd --uri https://calendar.example.org --bitcoin-network main',
    )
    .action(async (dir: string, options: { uri: string; bitcoinNetwork: NetworkName }) => {
      if (existsSync(dir) && readdirSync(dir).length > 0)
        throw new CliError(`${dir} exists and is not empty; not touching it`);
      try {
        PendingAttestation.checkUri(options.uri);
      } catch (e) {
        throw new CliError(`--uri: ${(e as Error).message}`);
      }
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const calendar = await Calendar.open({ dataDir: dir, uri: options.uri, create: true });
      await calendar.close();
      const key = loadWalletKey(dir, NETWORKS[options.bitcoinNetwork], true);
      const config = join(dir, 'otsd.toml');
      writeFileSync(
        config,
        `# otsd configuration (every key: deploy/otsd.example.toml)\ndata_dir = ${JSON.stringify(resolve(dir))}\nuri = ${JSON.stringify(options.uri)}\n\n[bitcoin]\nnetwork = "${options.bitcoinNetwork}"\n# rpc = "http://user:password@127.0.0.1:8332"\n`,
        { flag: 'wx', mode: 0o600 },
      );
      out(
        `created ${dir}: journal, index, key, ${config}\nfund the calendar at ${key.address}\nrun it: otsd run --config ${config}\n`,
      );
    });
}
