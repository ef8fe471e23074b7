/**
 * The whole index checked against the whole journal, in the background once otsd listens: the start's
 * check (check.ts) reads only a sample of chunks, and one flipped bit elsewhere made an acknowledged
 * commitment answer "Not found". Every record the index had applied at start is read from the journal
 * (its chain hash checked on the way) and found where the index has it; the check returns to the event
 * loop every few hundred records. Until it passes, a lookup that finds nothing is not taken for the
 * truth (Calendar.answer waits for it, or refuses with IndexNotCheckedError); when it fails, the
 * index is known bad, or the journal damaged, and says so until a restart (`otsd run` stops with
 * status 1 for one when the index is damaged).
 * @module
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { journalDamaged } from '../journal/damaged.js';
import { type Journal, JournalCorruptError, type JournalLogger } from '../journal/journal.js';
import type { CalendarIndex } from './calendar-index.js';
import { entryProblem } from './check.js';
import { writeCheckMarker } from './check-marker.js';

/** Records checked between turns of the event loop: a fraction of a millisecond each turn. */
const RECORDS_PER_TURN = 256;

export type FullCheckState = 'running' | 'passed' | 'index damaged' | 'journal damaged' | 'stopped';

/** A lookup found nothing in an index not yet checked in full, or found damaged: not an answer. */
export class IndexNotCheckedError extends Error {
  override name = 'IndexNotCheckedError';
}

export class FullIndexCheck {
  state: FullCheckState = 'running';
  /** What the check found wrong (index damaged or journal damaged). */
  problem: string | undefined;
  /** Resolves when the check ends, however it ends. */
  readonly done: Promise<void>;
  private stopping = false;

  /** Starts checking `index` (at `indexPath`) against `journal`. */
  constructor(index: CalendarIndex, indexPath: string, journal: Journal, log: JournalLogger) {
    this.done = this.run(index, indexPath, journal, log);
  }

  /** Whether the index passed: a lookup that finds nothing in it is an answer. */
  get passed(): boolean {
    return this.state === 'passed';
  }

  /** Ends the check early (otsd stopping); resolves when it has. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.done;
  }

  /** The status page's warning after the check failed. */
  warning(): string | undefined {
    if (this.state === 'index damaged')
      return `the index is damaged (${this.problem}): lookups that find nothing get 503; otsd stops for a restart, which rebuilds it from the journal`;
    if (this.state === 'journal damaged')
      return `the journal is damaged (${this.problem}): run otsd verify-journal and restore the segment from a backup or a mirror`;
    return undefined;
  }

  private async run(
    index: CalendarIndex,
    indexPath: string,
    journal: Journal,
    log: JournalLogger,
  ): Promise<void> {
    const end = index.applied.number;
    let checked = 0;
    try {
      for await (const record of journal.read(0)) {
        if (record.number >= end || this.stopping) break;
        const problem = await entryProblem(index, journal, record);
        if (problem) return this.indexDamaged(`record ${record.number}: ${problem}`, index, indexPath, log);
        if (++checked % RECORDS_PER_TURN === 0) await nextTurn();
      }
    } catch (e) {
      if (!(e instanceof JournalCorruptError)) {
        return this.indexDamaged(`reading it failed: ${(e as Error).message}`, index, indexPath, log);
      }
      this.problem = journalDamaged(journal.dir, e).message;
      this.state = 'journal damaged';
      log.error({ problem: this.problem }, 'journal: damaged (found by the full check after start)');
      return;
    }
    this.state = this.stopping ? 'stopped' : 'passed';
    if (!this.stopping) log.info({ records: checked }, 'index: checked in full against the journal');
  }

  private indexDamaged(problem: string, index: CalendarIndex, indexPath: string, log: JournalLogger): void {
    this.problem = problem;
    this.state = 'index damaged';
    try {
      // the next start rebuilds it, keeping the acknowledged position
      writeCheckMarker(indexPath, index.acknowledged);
    } catch (e) {
      log.error(
        { err: e },
        'index: the check marker could not be written; run otsd reindex after stopping otsd',
      );
    }
    log.error(
      { index: indexPath, problem },
      'index: damaged (found by the full check after start); lookups that find nothing get 503 until the restart that rebuilds it from the journal',
    );
  }
}
