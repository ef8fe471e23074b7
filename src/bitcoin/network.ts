/**
 * Network parameters: address and WIF prefixes per network. The attestation is the same on every
 * network (python-opentimestamps has no testnet variant); these only matter for the calendar's own
 * key and address.
 * @module
 */

export interface BitcoinNetwork {
  name: NetworkName;
  bech32: string;
  pubKeyHash: number;
  scriptHash: number;
  wif: number;
  /** Whether this is a throwaway test chain (the status page says so). */
  test: boolean;
}

export const NETWORK_NAMES = [
  'main',
  'test',
  'signet',
  'regtest',
  'bcoin-regtest',
  'litecoin-regtest',
] as const;
export type NetworkName = (typeof NETWORK_NAMES)[number];

export const NETWORKS: Readonly<Record<NetworkName, BitcoinNetwork>> = {
  main: { name: 'main', bech32: 'bc', pubKeyHash: 0x00, scriptHash: 0x05, wif: 0x80, test: false },
  test: { name: 'test', bech32: 'tb', pubKeyHash: 0x6f, scriptHash: 0xc4, wif: 0xef, test: true },
  signet: { name: 'signet', bech32: 'tb', pubKeyHash: 0x6f, scriptHash: 0xc4, wif: 0xef, test: true },
  regtest: { name: 'regtest', bech32: 'bcrt', pubKeyHash: 0x6f, scriptHash: 0xc4, wif: 0xef, test: true },
  // bcoin's regtest uses its own prefixes (lib/protocol/networks.js)
  'bcoin-regtest': {
    name: 'bcoin-regtest',
    bech32: 'rb',
    pubKeyHash: 0x3c,
    scriptHash: 0x26,
    wif: 0x5a,
    test: true,
  },
  'litecoin-regtest': {
    name: 'litecoin-regtest',
    bech32: 'rltc',
    pubKeyHash: 0x6f,
    scriptHash: 0x3a,
    wif: 0xef,
    test: true,
  },
};
