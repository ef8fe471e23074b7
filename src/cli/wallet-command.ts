/** `otsd wallet address`: the address that funds the calendar's stamping transactions. */
import { Command, Option } from 'commander';
import { NETWORK_NAMES, NETWORKS, type NetworkName } from '../bitcoin/network.js';
import { loadWalletKey } from '../bitcoin/wallet-key.js';
import { CliError } from './cli-error.js';

export function walletCommand(out: (text: string) => void): Command {
  const wallet = new Command('wallet').description("the calendar's Bitcoin key");
  wallet
    .command('address')
    .description('print the P2WPKH address that funds stamping (the key is created by the first otsd run)')
    .addOption(new Option('--data-dir <dir>', 'data directory').env('OTSD_DATA_DIR').default('data'))
    .addOption(
      new Option('--bitcoin-network <name>', 'network')
        .env('OTSD_BITCOIN_NETWORK')
        .default('main')
        .choices(NETWORK_NAMES),
    )
    .addHelpText('after', '\nExample:\n  otsd wallet address --data-dir /var/lib/otsd --bitcoin-network main')
    .action((options: { dataDir: string; bitcoinNetwork: NetworkName }) => {
      try {
        const stderr = { warn: (_: object, msg: string) => process.stderr.write(`otsd: ${msg}\n`) };
        out(`${loadWalletKey(options.dataDir, NETWORKS[options.bitcoinNetwork], false, stderr).address}\n`);
      } catch (e) {
        throw new CliError((e as Error).message);
      }
    });
  return wallet;
}
