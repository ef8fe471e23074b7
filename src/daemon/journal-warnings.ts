/** What the status page, `otsd status` and systemd say while the journal waits out a storage fault. */
import type { JournalOutage } from '../journal/outage.js';

/** The sentence for the status page's warnings: what fails, since when, and what otsd does about it. */
export function journalOutageWarning(outage: JournalOutage, now = Date.now()): string {
  const seconds = Math.floor((now - outage.since) / 1000);
  return `the journal cannot write (${outage.reason}) for ${seconds} s: digests get 503 until a write succeeds, which otsd retries by itself (${outage.retries} retries so far); make room on the data directory's disk, or look at the disk`;
}

/** systemd's STATUS= line while the journal cannot write. */
export function journalOutageStatus(outage: JournalOutage): string {
  return `not taking digests: the journal cannot write (${outage.reason}); retrying`;
}
