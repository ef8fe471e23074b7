/**
 * The calendar's own key: 32 random bytes in `<data dir>/bitcoin-key`, mode 0600, never logged. It
 * pays and receives with one P2WPKH script.
 * @module
 */
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { p2wpkh, WIF } from '@scure/btc-signer';
import { pubECDSA } from '@scure/btc-signer/utils.js';
import type { BitcoinNetwork } from './network.js';

export const KEY_FILE = 'bitcoin-key';

export interface WalletKey {
  privateKey: Uint8Array;
  publicKey: Uint8Array;
  /** The P2WPKH output script every stamping transaction pays its change to. */
  script: Uint8Array;
  address: string;
}

export function walletKeyFromPrivate(privateKey: Uint8Array, network: BitcoinNetwork): WalletKey {
  const publicKey = pubECDSA(privateKey);
  const payment = p2wpkh(publicKey, network);
  return { privateKey, publicKey, script: payment.script, address: payment.address as string };
}

/**
 * Loads the key file, creating it (0600, fsynced with its directory) when `create` and it is missing.
 * A key file readable by others is made 0600, with a warning.
 */
export function loadWalletKey(
  dataDir: string,
  network: BitcoinNetwork,
  create: boolean,
  log?: { warn(obj: object, msg: string): void },
): WalletKey {
  const path = join(dataDir, KEY_FILE);
  if (!existsSync(path)) {
    if (!create) throw new Error(`no Bitcoin key at ${path} (otsd run creates one)`);
    createKeyFile(path, `${Buffer.from(randomBytes(32)).toString('hex')}\n`);
  }
  const mode = statSync(path).mode & 0o777;
  if (mode & 0o077) {
    chmodSync(path, 0o600);
    log?.warn(
      { path, mode: mode.toString(8) },
      'bitcoin: the key file was readable by others; it is 0600 now',
    );
  }
  const hex = readFileSync(path, 'utf8').trim();
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`${path}: expected 64 hex digits`);
  return walletKeyFromPrivate(Uint8Array.from(Buffer.from(hex, 'hex')), network);
}

/**
 * Writes a new key file that survives a power cut: the operator funds the address printed right after
 * the first start, and an empty or missing key after a crash would strand those funds.
 */
function createKeyFile(path: string, text: string): void {
  const file = openSync(path, 'wx', 0o600);
  try {
    writeFileSync(file, text);
    fsyncSync(file);
  } finally {
    closeSync(file);
  }
  const directory = openSync(dirname(path), 'r');
  try {
    fsyncSync(directory);
  } finally {
    closeSync(directory);
  }
}

/** The key in wallet import format, for moving funds out with another wallet. */
export const toWif = (key: WalletKey, network: BitcoinNetwork): string => WIF(network).encode(key.privateKey);
