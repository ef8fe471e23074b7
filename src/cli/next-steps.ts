/**
 * What `otsd run` prints on the terminal once a calendar listens: what to do next with the `ots`
 * client, so that a first `npm start` ends with commands to copy rather than a search through docs.
 * @module
 */
import { join, resolve } from 'node:path';
import { bcoinChainDir, RPC_URL_FILE } from '../bitcoin/embedded-bcoin.js';

export interface NextStepsContext {
  /** The calendar's public URI: what clients stamp with. */
  uri: string;
  /** Where this node listens: its page (and /status, its status page). */
  url: string;
  dataDir: string;
  /** Where its proofs are anchored: its own embedded regtest node, a node of the operator's, or none. */
  bitcoin: 'embedded' | 'node' | 'none';
  /** Seconds between blocks on the embedded chain. */
  blockIntervalSeconds?: number;
}

export function nextSteps(c: NextStepsContext): string {
  const lines = [
    '',
    'Next steps, in a browser or with the OpenTimestamps client (ots, from opentimestamps-client):',
    `  in a browser       ${c.url}/ (this calendar's page: stamp files, then upgrade and verify them)`,
    `  stamp a file       ots stamp -c ${c.uri} -m 1 FILE`,
    `  watch it           ${c.url}/status (the status page; JSON with Accept: application/json)`,
  ];
  if (c.bitcoin === 'embedded') {
    // absolute, so the line works from wherever FILE.ots is; quoted for the shell
    const rpcUrlFile = shellQuote(resolve(join(bcoinChainDir(c.dataDir), RPC_URL_FILE)));
    lines.push(
      `  upgrade the proof  ots upgrade -c ${c.uri} FILE.ots   (complete about 20 s after the stamp: a block every ${c.blockIntervalSeconds ?? 10} s, 2 confirmations)`,
      `  verify it          ots --btc-regtest --bitcoin-node "$(cat ${rpcUrlFile})" verify FILE.ots`,
      "  (the embedded regtest chain is this demo's own: its proofs are not on the real Bitcoin chain)",
    );
  } else if (c.bitcoin === 'node') {
    lines.push(
      `  upgrade the proof  ots upgrade -c ${c.uri} FILE.ots   (once the stamping transaction has its confirmations)`,
      '  verify it          ots verify FILE.ots   (with your own Bitcoin node)',
    );
  } else {
    lines.push(
      '  nothing will be anchored in Bitcoin: start with --embedded-regtest (a demo chain) or --bitcoin-rpc URL',
    );
  }
  return `${lines.join('\n')}\n\n`;
}

/** `text` as one POSIX shell word: bare when it is plainly safe, otherwise in single quotes. */
function shellQuote(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`;
}
