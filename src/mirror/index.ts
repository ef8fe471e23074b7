/**
 * `otsd/mirror`: keep a verified copy of a calendar in a local directory and look up timestamps in it
 * offline. Every Bitcoin attestation it copies is checked: against headers from the upstream linked to
 * the checkpoints compiled into otsd (upstreamHeaderCheck), or against your own node (nodeHeaderCheck).
 *
 * ```ts
 * import { openMirror, upstreamHeaderCheck } from 'otsd/mirror';
 * const upstream = 'https://calendar.example.org';
 * const mirror = await openMirror({
 *   dir: './alice-copy',
 *   upstream,
 *   checkHeader: upstreamHeaderCheck(upstream, 'main'),
 * });
 * await mirror.sync();                       // download and verify up to the calendar's head
 * const answer = await mirror.lookup(commitment); // { state: 'found', timestamp } | pending | unknown
 * await mirror.close();
 * ```
 * The directory is held until `close()`: an otsd or another openMirror in it is refused
 * (DataDirInUseError).
 * @module
 */
import { Calendar, type Lookup } from '../calendar/calendar.js';
import { lockDataDir } from '../journal/data-dir-lock.js';
import { type HeaderCheck, insecureNoHeaderCheck } from './header-check.js';
import { JournalFollower } from './journal-follower.js';

export { DataDirInUseError } from '../journal/data-dir-lock.js';
export { CONFIRMATIONS } from './header-chain.js';
export { type HeaderCheck, NotYetConfirmedError, nodeHeaderCheck } from './header-check.js';
export { MirrorForkError, MirrorIntegrityError } from './integrity-error.js';
export { JournalFollower } from './journal-follower.js';
export { Mirror, type MirrorStatus } from './mirror.js';
export { upstreamHeaderCheck } from './upstream-headers.js';

export interface LocalMirror {
  /**
   * Downloads and verifies everything up to the upstream's head; returns how many records came. Throws
   * MirrorIntegrityError for data that does not check out (what verified before it is kept), and
   * MirrorForkError (a MirrorIntegrityError) for a history that contradicts the copy.
   */
  sync(): Promise<number>;
  /**
   * Follows the upstream until `signal` aborts: data that does not check out is refused and asked for
   * again with backoff; a fork ends it with MirrorForkError.
   */
  follow(signal: AbortSignal): Promise<void>;
  lookup(commitment: Uint8Array): Promise<Lookup>;
  readonly calendar: Calendar;
  close(): Promise<void>;
}

/** How Bitcoin attestations are checked: required, or skipped only by a name that says it is insecure. */
export type AttestationCheck =
  | { checkHeader: HeaderCheck; insecureSkipAttestationCheck?: never }
  | {
      /** Copies proofs whose Bitcoin attestations nobody checked: an upstream can forge any proof. */
      insecureSkipAttestationCheck: true;
      checkHeader?: never;
    };

export async function openMirror(
  options: {
    dir: string;
    upstream: string;
    /** The calendar's URI, the only one a PendingAttestation in a proof may name (default: upstream). */
    calendarUri?: string;
  } & AttestationCheck,
): Promise<LocalMirror> {
  const checkHeader =
    options.insecureSkipAttestationCheck === true ? insecureNoHeaderCheck : options.checkHeader;
  if (typeof checkHeader !== 'function') {
    throw new TypeError(
      'openMirror: checkHeader is required (upstreamHeaderCheck or nodeHeaderCheck), or insecureSkipAttestationCheck: true',
    );
  }
  const uri = options.calendarUri ?? options.upstream.replace(/\/+$/, '');
  // one writer per directory: an otsd, or another openMirror, in it is refused (DataDirInUseError)
  const unlock = lockDataDir(options.dir);
  let calendar: Calendar;
  try {
    calendar = await Calendar.open({ dataDir: options.dir, uri, create: true });
  } catch (e) {
    unlock();
    throw e;
  }
  const follower = new JournalFollower({ upstream: options.upstream, calendar, checkHeader });
  return {
    calendar,
    sync: () => follower.syncOnce(),
    follow: (signal) => follower.run(signal),
    lookup: (commitment) => calendar.lookup(commitment),
    close: () => {
      follower.close();
      return calendar.close().finally(unlock);
    },
  };
}
