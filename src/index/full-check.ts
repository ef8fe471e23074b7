/**
 * The whole index checked against the whole journal, in the background once otsd listens: the start's
 * check (check.ts) reads only a sample of chunks, and one flipped bit elsewhere made an acknowledged
 * commitment answer "Not found". Every record the index had applied at start is read from the journal
 * (its chain hash checked on the way) and found where the index has it, and the pending set is compared
 * with what the journal's proofs leave pending (a commitment the index took for proven would never be
 * stamped), and the proofs the index holds for each commitment with the journal's proofs, both ways
 * (proof-references-check.ts: a damaged one made lookups throw or answer pending); the check returns
 * to the event loop every few hundred records. Until it passes, a lookup that finds nothing is not
 * taken for the truth (Calendar.answer waits for it, or refuses with IndexNotCheckedError); when it
 * fails, the index is known bad, or the journal damaged, and says so until a restart (`otsd run`
 * stops with status 1 for one when the index is damaged).
 * @module
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { journalDamaged } from '../journal/damaged.js';
import {
  type Journal,
  JournalCorruptError,
  type JournalLogger,
  type ReadCursor,
} from '../journal/journal.js';
import type { CalendarIndex } from './calendar-index.js';
import { entryProblem } from './check.js';
import { writeCheckMarker } from './check-marker.js';
import { ProofCoverage } from './proof-coverage.js';
import { heldProblem } from './proof-references-check.js';

/** Records checked between turns of the event loop: a fraction of a millisecond each turn. */
const RECORDS_PER_TURN = 256;
/** Pending states compared between turns (a lookup in memory or a page each). */
const STATES_PER_TURN = 4096;

/**
 * Reads into `coverage` the records the index applied since `from` (where the walk ended: a cursor,
 * not a number, which the journal would find by reading its segment from the start in one go), each
 * time it is called, up to what the index has applied then: rounds and proofs go on while the check
 * compares.
 */
function proofsSince(
  index: CalendarIndex,
  journal: Journal,
  coverage: ProofCoverage,
  from: ReadCursor,
): () => Promise<void> {
  let read = from;
  return async () => {
    const applied = index.applied;
    let taken = 0;
    for await (const record of journal.read(read)) {
      if (record.number >= applied.number) break;
      coverage.take(record);
      if (++taken % RECORDS_PER_TURN === 0) await nextTurn();
    }
    if (applied.number > read.number) read = applied;
  };
}

/**
 * Whether the index's pending set matches the journal's proofs for the commitments checked (`coverage`,
 * taken from the records before the check's end): a commitment the index takes for proven would never
 * be stamped; one it takes for pending would be stamped again. The proofs applied since the walk are
 * read too (`readProofsSince`), and read again when a commitment the journal left pending turns out
 * proven (a proof applied while comparing). A proof never makes a commitment pending again, so the
 * other way round is damage at once. Returns undefined, without a verdict, once `stopping()`.
 */
async function pendingProblem(
  index: CalendarIndex,
  coverage: ProofCoverage,
  readProofsSince: () => Promise<void>,
  stopping: () => boolean,
): Promise<string | undefined> {
  for (let n = 0; n < coverage.records && !stopping(); n++) {
    const pending = coverage.pending(n);
    if (pending !== undefined && index.isPending(n) !== pending) {
      if (pending) await readProofsSince();
      const now = coverage.pending(n);
      if (index.isPending(n) !== now)
        return `record ${n}: the index has the commitment ${now ? 'proven' : 'pending'}, while the journal's proofs leave it ${now ? 'pending' : 'proven'}`;
    }
    if (n % STATES_PER_TURN === STATES_PER_TURN - 1) await nextTurn();
  }
  return undefined;
}

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
    const walkEnd = index.applied;
    const end = walkEnd.number;
    const coverage = new ProofCoverage(end);
    let checked = 0;
    try {
      for await (const record of journal.read(0)) {
        if (record.number >= end || this.stopping) break;
        // a proof's ranges read once: the coverage keeps its leaves, which the entry's check compares
        coverage.take(record);
        const problem = await entryProblem(index, journal, record, coverage.leaves(record.number));
        if (problem) return this.indexDamaged(`record ${record.number}: ${problem}`, index, indexPath, log);
        if (++checked % RECORDS_PER_TURN === 0) await nextTurn();
      }
      if (!this.stopping) {
        const stopping = () => this.stopping;
        const readProofsSince = proofsSince(index, journal, coverage, walkEnd);
        await readProofsSince();
        const problem =
          (await pendingProblem(index, coverage, readProofsSince, stopping)) ??
          (await heldProblem(index, coverage, readProofsSince, stopping));
        if (problem) return this.indexDamaged(problem, index, indexPath, log);
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
