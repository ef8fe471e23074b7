/**
 * A free loopback port below 32768, outside Linux's ephemeral range: a port picked there can be taken
 * by an outgoing connection between the check and the listen (and bcoin can then connect to itself).
 * @module
 */
import { createServer } from 'node:net';

export async function freeLoopbackPort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    const free = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error('no free loopback port between 20000 and 32000 after 50 tries');
}
