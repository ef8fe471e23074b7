/**
 * The refusal when journal bytes the index relies on fail their chain check (a flipped bit in a
 * segment that recovery, which scans only the last one, did not read): the journal is damaged, not
 * the index, and rebuilding the index from it would only lose more.
 * @module
 */
import { dirname } from 'node:path';
import { JournalCorruptError } from './recovery.js';

export function journalDamaged(journalDir: string, error: Error): JournalCorruptError {
  return new JournalCorruptError(
    `${error.message}: the journal is damaged (the index is left as it is). Refusing to start. Run otsd verify-journal ${dirname(journalDir)} to see the damage, and restore the damaged segment file from a backup or a mirror (a mirror's journal/ is one)`,
    { cause: error },
  );
}
