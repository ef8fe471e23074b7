/** Where the test vectors live (test/fixtures/vectors), and the block headers the tests build for them. */
import { fileURLToPath } from 'node:url';

// From dist/test/ots/ back to the checkout's test/fixtures (fixtures are not copied into dist).
export const VECTORS_DIR = fileURLToPath(new URL('../../../test/fixtures/vectors', import.meta.url));

/**
 * An 80-byte header whose merkle root (bytes 36..68, internal order) is `root` and whose nTime is
 * `time`: all a Bitcoin attestation is checked against. No real headers ship with the vectors.
 */
export function headerWithRoot(root: Uint8Array, time: number): Uint8Array {
  const header = new Uint8Array(80);
  header.set(root, 36);
  new DataView(header.buffer).setUint32(68, time, true);
  return header;
}
