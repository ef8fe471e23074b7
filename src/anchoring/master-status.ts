/**
 * What an otsd master says of itself in its JSON status that a calendar delegating to it uses: the
 * masters it delegates to in turn (`collaboration.masters[].url`), to refuse a cycle, and the
 * confirmations it waits for (`anchoring.min_confirmations`), to extend a deadline once its
 * transaction is mined. A calendar that publishes no masters (the reference, whose status has no
 * such field; one answering HTML or an error) delegates to no one: a leaf.
 *
 * A cycle (A delegates to B, B to A) would turn each calendar's tip into a commitment at the other,
 * so neither would ever be idle, and each would stamp for no client's digest. A calendar follows its
 * master's published masters, theirs, and so on, up to CYCLE_SEARCH_DEPTH calendars deep; if its own
 * URI is among them, it does not delegate to that master.
 * @module
 */
import { CalendarError, type RemoteCalendar } from '../remote/calendar-client.js';

export const CYCLE_SEARCH_DEPTH = 4;
/** What the reference waits for before it writes a proof; assumed for a master that does not say. */
export const REFERENCE_CONFIRMATIONS = 6;
/**
 * Most confirmations a master's published `min_confirmations` counts for: a master that says it waits
 * longer (a million, say) is taken to wait this long, so its word cannot move a deadline far.
 */
export const MAX_MASTER_CONFIRMATIONS = 12;

export interface MasterFacts {
  /** The masters it delegates to (their URLs as it lists them). */
  masters: string[];
  /** The confirmations it waits for before writing a proof, at most MAX_MASTER_CONFIRMATIONS. */
  minConfirmations: number;
}

const LEAF: MasterFacts = { masters: [], minConfirmations: REFERENCE_CONFIRMATIONS };

/** A URL in one spelling, for comparing: scheme and host lower case, no default port, no trailing slash. */
export function sameCalendar(a: string, b: string): boolean {
  const normal = (url: string) => {
    try {
      return new URL(url).href.replace(/\/+$/, '');
    } catch {
      return url;
    }
  };
  return normal(a) === normal(b);
}

/**
 * What `client`'s calendar publishes of itself. One that answers with an HTTP error or not with JSON
 * publishes nothing; one that cannot be reached throws its CalendarError.
 */
export async function readMasterFacts(client: RemoteCalendar, signal?: AbortSignal): Promise<MasterFacts> {
  let json: unknown;
  try {
    json = await client.statusJson(signal ? { signal } : {});
  } catch (e) {
    if (e instanceof CalendarError && e.status !== undefined) return LEAF;
    throw e;
  }
  const status = json as {
    collaboration?: { masters?: { url?: unknown }[] };
    anchoring?: { min_confirmations?: unknown };
  } | null;
  const listed = status?.collaboration?.masters;
  const confirmations = status?.anchoring?.min_confirmations;
  return {
    masters: Array.isArray(listed)
      ? listed.flatMap((m) => (typeof m?.url === 'string' ? [m.url] : [])).slice(0, 100)
      : [],
    minConfirmations:
      Number.isSafeInteger(confirmations) && (confirmations as number) > 0
        ? Math.min(confirmations as number, MAX_MASTER_CONFIRMATIONS)
        : REFERENCE_CONFIRMATIONS,
  };
}

/**
 * The chain of calendars from `master` back to `self` through what each publishes, if there is one
 * within CYCLE_SEARCH_DEPTH calendars (breadth first). `first` is what `master` itself published; a
 * calendar further on that cannot be reached is taken for a leaf.
 */
export async function cycleBack(
  self: string,
  master: string,
  first: MasterFacts,
  read: (url: string) => Promise<MasterFacts>,
): Promise<string[] | undefined> {
  let frontier: { url: string; path: string[]; facts: MasterFacts | undefined }[] = [
    { url: master, path: [master], facts: first },
  ];
  const seen = new Set<string>();
  for (let depth = 0; depth < CYCLE_SEARCH_DEPTH && frontier.length > 0; depth++) {
    const next: typeof frontier = [];
    for (const { url, path, facts } of frontier) {
      const listed = facts ?? (await read(url).catch(() => LEAF));
      for (const onward of listed.masters) {
        if (sameCalendar(onward, self)) return [...path, onward];
        if ([...seen].some((s) => sameCalendar(s, onward))) continue;
        seen.add(onward);
        next.push({ url: onward, path: [...path, onward], facts: undefined });
      }
    }
    frontier = next;
  }
  return undefined;
}
