/**
 * Every entry of every sub-database of an index, read straight from its LMDB environment: the names
 * come from LMDB's own list, not from otsd's code, so a database otsd forgets to clear shows up too.
 * The index must be closed.
 */
import { open } from 'lmdb';

export async function indexContents(path: string): Promise<Map<string, string[]>> {
  const root = open<Buffer, Buffer>({
    path,
    keyEncoding: 'binary',
    encoding: 'binary',
    maxDbs: 64,
    readOnly: true,
  });
  try {
    const contents = new Map<string, string[]>();
    // LMDB stores each sub-database's name with its terminating NUL
    const names = [...root.getKeys()].map((key) => key.toString('utf8').replace(/\0$/, ''));
    for (const name of names) {
      const db = root.openDB<Buffer, Buffer>({ name, keyEncoding: 'binary', encoding: 'binary' });
      contents.set(
        name,
        [...db.getRange()].map(({ key, value }) => `${key.toString('hex')}=${value.toString('hex')}`),
      );
    }
    return contents;
  } finally {
    await root.close();
  }
}
