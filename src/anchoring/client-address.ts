/**
 * Whom a limit per client counts a request against: its IPv4 address, or the /64 network of its IPv6
 * address (one subscriber's allocation: a single host can use any of its 2^64 addresses, so a limit
 * per address would be none). An IPv4 address mapped into IPv6 (`::ffff:192.0.2.1`, how a dual-stack
 * socket reports IPv4 peers) counts as the IPv4 address.
 * @module
 */
import { isIPv4, isIPv6 } from 'node:net';

const IPV4_MAPPED = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

/** The key a per-client limit counts `address` (a socket's remote address) under. */
export function clientGroup(address: string): string {
  const mapped = IPV4_MAPPED.exec(address);
  if (mapped && isIPv4(mapped[1] as string)) return mapped[1] as string;
  // a zone (`fe80::1%eth0`) names the interface, not the host
  const bare = address.split('%')[0] as string;
  if (!isIPv6(bare)) return address;
  return `${ipv6Groups(bare).slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address, as lowercase hex without leading zeros. */
function ipv6Groups(address: string): string[] {
  const halves = address.split('::');
  const groupsOf = (part: string | undefined): string[] =>
    !part
      ? []
      : part.split(':').flatMap((g) => {
          if (!g.includes('.')) return [g];
          // an embedded IPv4 address is the last two groups
          const [a, b, c, d] = g.split('.').map(Number) as [number, number, number, number];
          return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
        });
  const head = groupsOf(halves[0]);
  const tail = groupsOf(halves[1]);
  const zeros = halves.length === 2 ? Array<string>(8 - head.length - tail.length).fill('0') : [];
  return [...head, ...zeros, ...tail].map((g) => Number.parseInt(g, 16).toString(16));
}
