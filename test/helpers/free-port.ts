/** Free loopback ports for the processes a test starts. */
import { freeLoopbackPort } from '../../src/bitcoin/free-port.js';

export { freeLoopbackPort as freePort };

/**
 * `n` distinct free ports, none of `taken`, for processes started together: a port is free only until
 * something listens on it, so two picks in a row could name the same one (once in 12,000 pairs).
 */
export async function freePorts(n: number, taken: readonly number[] = []): Promise<number[]> {
  const ports = new Set<number>();
  for (let attempt = 0; ports.size < n && attempt < 10 * n; attempt++) {
    const port = await freeLoopbackPort();
    if (!taken.includes(port)) ports.add(port);
  }
  if (ports.size < n) throw new Error(`freePorts: ${ports.size} distinct ports of ${n} in ${10 * n} picks`);
  return [...ports];
}
