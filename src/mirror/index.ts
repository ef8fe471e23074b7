/**
 * `otsd/mirror`: keep a verified copy of a calendar in a local directory and look up timestamps in it
 * offline.
 *
 * ```ts
 * import { openMirror } from 'otsd/mirror';
 * const mirror = await openMirror({ dir: './alice-copy', upstream: 'https://calendar.example.org' });
 * await mirror.sync();                       // download and verify up to the calendar's head
 * const answer = await mirror.lookup(commitment); // { state: 'found', timestamp } | pending | unknown
 * await mirror.close();
 * ```
 * @module
 */
import { Calendar, type Lookup } from '../calendar/calendar.js';
import { type HeaderCheck, JournalFollower } from '../remote/journal-follower.js';

export { upstreamHeaderCheck } from '../remote/header-chain.js';
export {
  type HeaderCheck,
  JournalFollower,
  MirrorIntegrityError,
  nodeHeaderCheck,
} from '../remote/journal-follower.js';
export { Mirror, type MirrorStatus } from './mirror.js';

export interface LocalMirror {
  /** Downloads and verifies everything up to the upstream's head; returns how many records came. */
  sync(): Promise<number>;
  /** Follows the upstream until `signal` aborts (throws MirrorIntegrityError on a fork or bad record). */
  follow(signal: AbortSignal): Promise<void>;
  lookup(commitment: Uint8Array): Promise<Lookup>;
  readonly calendar: Calendar;
  close(): Promise<void>;
}

export async function openMirror(options: {
  dir: string;
  upstream: string;
  checkHeader?: HeaderCheck;
}): Promise<LocalMirror> {
  // the URI is only used when committing, which a mirror never does
  const calendar = await Calendar.open({ dataDir: options.dir, uri: 'mirror', create: true });
  const follower = new JournalFollower({
    upstream: options.upstream,
    calendar,
    ...(options.checkHeader && { checkHeader: options.checkHeader }),
  });
  return {
    calendar,
    sync: () => follower.syncOnce(),
    follow: (signal) => follower.run(signal),
    lookup: (commitment) => calendar.lookup(commitment),
    close: () => calendar.close(),
  };
}
