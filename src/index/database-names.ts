/** The sub-databases an LMDB environment lists: its own list, not otsd's. */
import type { RootDatabase } from 'lmdb';

/** LMDB stores each sub-database's name with its terminating NUL. */
export function databaseNames(root: RootDatabase<Buffer, Buffer>): string[] {
  return [...root.getKeys()].map((key) => key.toString('utf8').replace(/\0$/, ''));
}
