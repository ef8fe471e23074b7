/**
 * Opening a data directory's index and journal together, as a calendar or `otsd reindex` starts. The
 * order matters (docs/journal-format.md, "Recovery rules"):
 * 1. the index, its file checked before LMDB maps it (a damaged one is made anew);
 * 2. the journal, told how many records the index acknowledged: it cuts off damage after them, and
 *    refuses to start without any of them (recovery.ts);
 * 3. the journal must be the history the index acknowledged (the same chain hash there), or otsd
 *    refuses;
 * 4. the index is checked against the journal, a damaged one rebuilt, keeping its acknowledged
 *    position, and it is brought up to the journal.
 * With `acceptLoss` (`otsd reindex --accept-loss`) the journal is taken as it is: its last segment
 * cut at its first bad record, nothing refused for records it lacks; the index is rebuilt anyway (the
 * caller clears it and catches up).
 * @module
 */
import { join } from 'node:path';
import type { CalendarIndex } from '../index/calendar-index.js';
import { journalHasPosition } from '../index/check.js';
import { checkedAndCaughtUp, openCheckedIndex } from '../index/open-index.js';
import { Journal, JournalCorruptError, type JournalLogger, quietLog } from '../journal/journal.js';

export interface StorageOptions {
  dataDir: string;
  /** Create the journal when there is none yet. */
  create?: boolean;
  maxSegmentBytes?: number;
  log?: JournalLogger;
  /** Told how far the index has caught up with the journal (a long catch-up at start). */
  onCatchUpProgress?: (applied: number, total: number) => void;
  /** Called at most every 10 s while the index's file check at start goes on (minutes for a large one). */
  onIndexCheck?: () => void;
  /** Take the journal as it is, neither checked nor caught up (`otsd reindex --accept-loss`). */
  acceptLoss?: boolean;
}

export async function openStorage(
  options: StorageOptions,
): Promise<{ index: CalendarIndex; journal: Journal }> {
  const log = options.log ?? quietLog;
  const indexPath = join(options.dataDir, 'index');
  const journalDir = join(options.dataDir, 'journal');
  const index = await openCheckedIndex(indexPath, journalDir, log, options.onIndexCheck);
  const acknowledged = options.acceptLoss ? undefined : index.acknowledged;
  let journal: Journal;
  try {
    journal = await Journal.open({
      dir: journalDir,
      log,
      ...(options.create !== undefined && { create: options.create }),
      ...(options.maxSegmentBytes !== undefined && { maxSegmentBytes: options.maxSegmentBytes }),
      ...(options.acceptLoss
        ? { acknowledgedRecords: 0, setAsideAfterGap: true }
        : acknowledged && { acknowledgedRecords: acknowledged.number }),
    });
    if (acknowledged && !(await journalHasPosition(journal, acknowledged))) {
      await journal.close();
      throw new JournalCorruptError(
        `journal ${journalDir}: its record ${acknowledged.number - 1} is not the one the index acknowledged (the chain hash after it differs): this journal is not the history the calendar served (another calendar's journal, or another copy?), or the index is damaged. Refusing to start. Put the calendar's own journal back; to go on with this one, run otsd reindex --accept-loss ${options.dataDir}`,
      );
    }
  } catch (e) {
    await index.close();
    throw e;
  }
  if (options.acceptLoss) return { index, journal };
  try {
    return {
      index: await checkedAndCaughtUp(index, indexPath, journal, log, options.onCatchUpProgress),
      journal,
    };
  } catch (e) {
    await journal.close();
    throw e;
  }
}
