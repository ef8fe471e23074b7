/** The http:// URL a listening server answers on (IPv6 addresses in brackets). */
import type { AddressInfo, Server } from 'node:net';

export function serverUrl(server: Server): string {
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}
