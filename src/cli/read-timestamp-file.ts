/** Reading a `.ots` file for a command, with failures turned into one-line reasons. */
import { readFileSync } from 'node:fs';
import { BadMagicError, DetachedTimestampFile, OtsError } from '../ots/index.js';
import { CliError } from './cli-error.js';

export function readTimestampFile(path: string): DetachedTimestampFile {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new CliError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    return DetachedTimestampFile.fromBytes(bytes);
  } catch (e) {
    if (e instanceof BadMagicError) throw new CliError(`${path} is not a timestamp file`);
    if (e instanceof OtsError) throw new CliError(`invalid timestamp file ${path}: ${e.name}: ${e.message}`);
    throw e;
  }
}
