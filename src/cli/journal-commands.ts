/** `otsd verify-journal DIR` and `otsd reindex DIR`: offline tools on a calendar's data directory. */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { lockDataDir } from '../daemon/data-dir-lock.js';
import { CalendarIndex } from '../index/calendar-index.js';
import { catchUpIndex } from '../index/catch-up.js';
import { Journal, JournalCorruptError } from '../journal/journal.js';
import { formatHead, verifyJournal } from '../journal/verify.js';
import { CliError } from './cli-error.js';

/** A data dir holds `journal/`; a journal directory given directly works too. */
const journalDir = (dir: string) => (existsSync(join(dir, 'journal')) ? join(dir, 'journal') : dir);

export function verifyJournalCommand(out: (text: string) => void): Command {
  return new Command('verify-journal')
    .description('check every record and chain hash of a journal, offline, and print its head')
    .argument('<dir>', 'data directory (or its journal/ directory)')
    .addHelpText('after', '\nExample:\n  otsd verify-journal /var/lib/otsd')
    .action(async (dir: string) => {
      if (!existsSync(dir)) throw new CliError(`no such directory: ${dir}`);
      const result = await verifyJournal(journalDir(dir), (records) =>
        process.stderr.write(`verified ${records} records\n`),
      );
      if (result.tornTail)
        out(`note: torn last record, truncated when the calendar starts: ${result.tornTail}\n`);
      if (!result.ok) throw new CliError(`journal invalid: ${result.errors.join('; ')}`);
      out(`journal ok: ${formatHead(result)}, ${result.segments} segments\n`);
    });
}

export function reindexCommand(out: (text: string) => void): Command {
  return new Command('reindex')
    .description(
      'rebuild the index of a data directory from its journal alone (the calendar must be stopped)',
    )
    .argument('<dir>', 'data directory')
    .addHelpText('after', '\nExample:\n  otsd reindex /var/lib/otsd')
    .action(async (dir: string) => {
      if (!existsSync(join(dir, 'journal'))) throw new CliError(`${dir} has no journal/ directory`);
      let unlock: () => void;
      try {
        unlock = lockDataDir(dir);
      } catch (e) {
        throw new CliError((e as Error).message);
      }
      let journal: Journal;
      try {
        journal = await Journal.open({ dir: join(dir, 'journal') });
      } catch (e) {
        unlock();
        if (e instanceof JournalCorruptError) throw new CliError(e.message);
        throw e;
      }
      rmSync(join(dir, 'index'), { recursive: true, force: true });
      const index = CalendarIndex.open(join(dir, 'index'));
      const started = Date.now();
      try {
        await catchUpIndex(index, journal, (applied, total) => {
          const seconds = (Date.now() - started) / 1000;
          process.stderr.write(
            `reindex: ${applied}/${total} records (${Math.round(applied / Math.max(seconds, 0.001))}/s)\n`,
          );
        });
        out(
          `index rebuilt: ${index.applied.number} records applied, ${index.pendingCount} commitments pending\n`,
        );
      } finally {
        await index.close();
        await journal.close();
        unlock();
      }
    });
}
