/**
 * The calendar's own key: 32 random bytes in `<data dir>/bitcoin-key`, mode 0600, never logged. It
 * pays and receives with one P2WPKH script.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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

/** Loads the key file, creating it (0600) when `create` and it is missing. */
export function loadWalletKey(dataDir: string, network: BitcoinNetwork, create: boolean): WalletKey {
  const path = join(dataDir, KEY_FILE);
  if (!existsSync(path)) {
    if (!create) throw new Error(`no Bitcoin key at ${path} (otsd run creates one)`);
    writeFileSync(path, `${Buffer.from(randomBytes(32)).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  }
  const mode = statSync(path).mode & 0o777;
  if (mode & 0o077) chmodSync(path, 0o600);
  const hex = readFileSync(path, 'utf8').trim();
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`${path}: expected 64 hex digits`);
  return walletKeyFromPrivate(Uint8Array.from(Buffer.from(hex, 'hex')), network);
}

/** The key in wallet import format, for moving funds out with another wallet. */
export const toWif = (key: WalletKey, network: BitcoinNetwork): string => WIF(network).encode(key.privateKey);
