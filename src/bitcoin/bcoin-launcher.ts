/**
 * Runs bcoin's full node in this process, and exits as soon as the otsd that started it goes away (its
 * IPC channel closes), even after a SIGKILL: an orphaned node would hold the chain's lock.
 * usage (from embedded-bcoin.ts only): node bcoin-launcher.js BCOIN_BIN [bcoin flags...]
 */
import { createRequire } from 'node:module';

const [bin, ...flags] = process.argv.slice(2);
if (!bin || !process.send) {
  process.stderr.write('bcoin-launcher: start it from otsd, with an IPC channel\n');
  process.exit(2);
}
process.on('disconnect', () => process.exit(0));
process.argv = [process.argv[0] as string, bin, ...flags];
createRequire(import.meta.url)(bin);
