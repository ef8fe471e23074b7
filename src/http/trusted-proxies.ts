/**
 * The reverse proxies whose X-Forwarded-For otsd believes (`trust_proxy`): behind nginx every request
 * comes from the proxy's address, so a limit per client address (donation posts) would count every
 * client as one. Only the addresses listed are believed: from any other peer, the header is ignored
 * (a client could otherwise name any address it likes).
 * @module
 */
import { isIP } from 'node:net';

/** Whether `entry` is an IP address or a CIDR range (`10.0.0.0/8`, `fd00::/8`). */
export function isProxyAddress(entry: string): boolean {
  const [address, bits, ...rest] = entry.split('/');
  const family = isIP(address as string);
  if (family === 0 || rest.length > 0) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return /^\d{1,3}$/.test(bits) && n <= (family === 4 ? 32 : 128);
}

/** A comma- or space-separated list of proxy addresses; throws naming the first that is not one. */
export function parseProxyAddresses(value: string): string[] {
  const entries = value.split(/[\s,]+/).filter(Boolean);
  const bad = entries.find((e) => !isProxyAddress(e));
  if (bad !== undefined) throw new RangeError(`${JSON.stringify(bad)} is not an IP address or CIDR range`);
  return entries;
}
