/** `otsd info FILE.ots`: the timestamp tree, as the reference client's `ots info` prints it. */
import { formatInfo } from '../ots/index.js';
import { readTimestampFile } from './read-timestamp-file.js';

export function infoCommand(path: string): string {
  return formatInfo(readTimestampFile(path));
}
