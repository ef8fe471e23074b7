/**
 * A client for OpenTimestamps calendars (otsd or the reference): submit digests, fetch timestamps one
 * at a time or by prefix, read the status. Usable on its own by client authors.
 * @module
 */
import { type Attestation, equalBytes, PendingAttestation, Timestamp, toHex } from '../ots/index.js';
import { boundedBody } from './bounded-body.js';
import { decodePrefixAnswer, type PrefixEntry } from './prefix-answer.js';

/** Clients read at most this much of an answer (python-opentimestamps reads 10,000 bytes). */
const MAX_TIMESTAMP_ANSWER = 10_000;
/**
 * Most bytes of a tip's timestamp that a server passes on from another calendar (an aggregator's
 * merged answers, a calendar's proof through its master): clients read at most 10,000 bytes of an
 * answer, and the rest is left for the path from a digest to the tip (35 bytes per tree level).
 */
export const MAX_TIP_TIMESTAMP_BYTES = 8000;
/** Error texts are short (the reference's longest is about 100 bytes); more is not read. */
const MAX_ERROR_TEXT = 1000;
/** otsd's JSON status is about 2 kB; more is not read. */
const MAX_STATUS_BYTES = 64 * 1024;

/** The reference's 404 texts for a commitment it holds without a Bitcoin proof yet. */
const PENDING_TEXT = /^(?:Pending confirmation in Bitcoin blockchain|Timestamped by transaction )/;

/** A calendar answered, but not with what a calendar answers: nothing in it is passed on. */
export class BadAnswerError extends Error {
  override name = 'BadAnswerError';
  /** The message without what the calendar sent: what may be shown to others. */
  readonly summary: string;
  constructor(message: string, summary?: string) {
    super(message);
    this.summary = summary ?? message;
  }
}

/** Where a commitment stands at a calendar, from its answer to `GET /timestamp`. */
export type RemoteLookup =
  /** A complete timestamp of the commitment (a 200). */
  | { state: 'complete'; timestamp: Timestamp }
  /** Held, without a Bitcoin proof yet: `reason` is the 404 text (the reference's words). */
  | { state: 'pending'; reason: string }
  /** Not held: the reference's `Not found`. */
  | { state: 'unknown' };

/** A submission's answer, checked: its timestamp, and the commitment of the calendar it leads to. */
export interface CheckedSubmission {
  timestamp: Timestamp;
  commitment: Uint8Array;
}

export class CalendarError extends Error {
  override name = 'CalendarError';
  readonly status: number | undefined;
  /** The message without the text the calendar sent: what may be shown to others. */
  readonly summary: string;
  constructor(message: string, status?: number, summary?: string) {
    super(message);
    this.status = status;
    this.summary = summary ?? message;
  }
}

/**
 * Why a calendar's answer was not taken, in words that may be shown publicly (a status page): without
 * any text the calendar sent, which another server's operator could fill with anything.
 */
export const publicReason = (e: Error): string =>
  e instanceof CalendarError || e instanceof BadAnswerError ? e.summary : e.message;

export interface CalendarClientOptions {
  timeoutMs?: number;
  userAgent?: string;
  /** Most entries accepted in a prefix answer. */
  maxPrefixEntries?: number;
}

/** Per-call options: `signal` ends the call early (it also ends on the client's own timeout). */
export interface CallOptions {
  signal?: AbortSignal;
}

export interface CalendarStatus {
  commitments: number;
  prefixQueries: { minNibbles: number; maxEntries: number };
}

export class RemoteCalendar {
  readonly url: string;
  private readonly timeoutMs: number;
  private readonly headers: Record<string, string>;
  private readonly maxPrefixEntries: number;

  constructor(url: string, options: CalendarClientOptions = {}) {
    this.url = url.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.headers = {
      accept: 'application/vnd.opentimestamps.v1',
      'user-agent': options.userAgent ?? 'otsd-remote',
    };
    this.maxPrefixEntries = options.maxPrefixEntries ?? 100_000;
  }

  /**
   * One request, ended by the client's timeout or `options.signal`; a transport failure is a
   * CalendarError. A redirect is one too: a calendar answers where it is asked, and a redirect
   * followed would let it aim this client at any address this host reaches.
   */
  private async request(path: string, init: RequestInit, options: CallOptions = {}): Promise<Response> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    try {
      return await fetch(`${this.url}${path}`, {
        ...init,
        redirect: 'error',
        headers: { ...this.headers, ...init.headers },
        signal: options.signal ? AbortSignal.any([timeout, options.signal]) : timeout,
      });
    } catch (e) {
      throw new CalendarError(`${this.url}${path}: ${fetchFailure(e)}`);
    }
  }

  private get(path: string, accept?: string, options: CallOptions = {}): Promise<Response> {
    return this.request(path, accept ? { headers: { accept } } : {}, options);
  }

  private static async fail(response: Response, what: string): Promise<never> {
    const body = await boundedAnswer(response, MAX_ERROR_TEXT).catch(() => new Uint8Array());
    const reason = new TextDecoder().decode(body).slice(0, 200);
    throw new CalendarError(
      `${what}: HTTP ${response.status}${reason ? `: ${reason}` : ''}`,
      response.status,
      `${what}: HTTP ${response.status}`,
    );
  }

  /** Submits a digest; resolves with its timestamp (ending in the calendar's PendingAttestation). */
  async submit(digest: Uint8Array, options: CallOptions = {}): Promise<Timestamp> {
    const response = await this.request('/digest', { method: 'POST', body: digest }, options);
    if (response.status !== 200) return RemoteCalendar.fail(response, 'submit');
    return parseAnswer(digest, await boundedAnswer(response, MAX_TIMESTAMP_ANSWER), `${this.url}/digest`);
  }

  /**
   * Submits `digest` and checks the answer: a timestamp of the digest whose ops end in exactly one
   * PendingAttestation (the calendar's), leading to a commitment the calendar says it holds. An answer
   * made for another digest leads to a commitment it never saw, and could never be upgraded.
   */
  async submitChecked(digest: Uint8Array, options: CallOptions = {}): Promise<CheckedSubmission> {
    const timestamp = await this.submit(digest, options);
    const commitment = pendingCommitment(timestamp);
    if ((await this.commitmentState(commitment, options)) === 'unknown') {
      throw new BadAnswerError(
        `its answer leads to commitment ${toHex(commitment)}, which it does not know (an answer for another digest?)`,
      );
    }
    return { timestamp, commitment };
  }

  /** The calendar's timestamp of `commitment`, or undefined while it has none (a 404). */
  async getTimestamp(commitment: Uint8Array, options: CallOptions = {}): Promise<Timestamp | undefined> {
    const found = await this.lookup(commitment, options);
    return found.state === 'complete' ? found.timestamp : undefined;
  }

  /**
   * Where `commitment` stands at the calendar: complete with its timestamp, pending with the 404's
   * text, or unknown (the reference's `Not found`). Any other answer (not a calendar) is a
   * CalendarError.
   */
  async lookup(commitment: Uint8Array, options: CallOptions = {}): Promise<RemoteLookup> {
    const path = `/timestamp/${toHex(commitment)}`;
    const response = await this.get(path, undefined, options);
    if (response.status === 200) {
      const body = await boundedAnswer(response, MAX_TIMESTAMP_ANSWER);
      return { state: 'complete', timestamp: parseAnswer(commitment, body, `${this.url}${path}`) };
    }
    if (response.status !== 404) return RemoteCalendar.fail(response, 'timestamp');
    const text = new TextDecoder().decode(await boundedAnswer(response, MAX_ERROR_TEXT));
    if (text === 'Not found') return { state: 'unknown' };
    if (PENDING_TEXT.test(text)) return { state: 'pending', reason: text };
    const summary = 'timestamp: HTTP 404 that says neither pending nor unknown';
    throw new CalendarError(`${summary}: ${text.slice(0, 200)}`, 404, summary);
  }

  /**
   * Whether the calendar holds `commitment`: complete (it has a Bitcoin proof), pending (its 404 says
   * why it has none yet, in the reference's words) or unknown (its 404 is `Not found`, the reference's
   * text for a commitment it never saw).
   */
  async commitmentState(commitment: Uint8Array, options: CallOptions = {}): Promise<RemoteLookup['state']> {
    return (await this.lookup(commitment, options)).state;
  }

  /** Every commitment under a hex prefix with its timestamp (otsd's `GET /timestamps?prefix=`). */
  async getTimestampsByPrefix(prefix: string): Promise<PrefixEntry[]> {
    const response = await this.get(`/timestamps?prefix=${encodeURIComponent(prefix)}`);
    if (response.status !== 200) return RemoteCalendar.fail(response, `prefix ${prefix}`);
    return decodePrefixAnswer(await boundedAnswer(response, 64 * 1024 * 1024), this.maxPrefixEntries);
  }

  /**
   * The calendar's JSON status (`GET /` with `Accept: application/json`), read up to 64 KiB. An HTTP
   * error, or an answer that is not JSON (the reference answers its HTML page), is a CalendarError
   * with the HTTP status; a calendar that cannot be reached, one without.
   */
  async statusJson(options: CallOptions = {}): Promise<unknown> {
    const response = await this.get('/', 'application/json', options);
    if (response.status !== 200) return RemoteCalendar.fail(response, 'status');
    const body = await boundedAnswer(response, MAX_STATUS_BYTES);
    try {
      return JSON.parse(new TextDecoder().decode(body));
    } catch {
      throw new CalendarError(`${this.url}: its status is not JSON`, response.status);
    }
  }

  /** The figures a client needs to size a prefix query, from the JSON status. */
  async status(): Promise<CalendarStatus> {
    const json = (await this.statusJson()) as {
      commitments?: number;
      prefix_queries?: { min_nibbles: number; max_entries: number };
    } | null;
    if (typeof json?.commitments !== 'number' || !json.prefix_queries) {
      throw new CalendarError(`${this.url}: no prefix query support in its status`);
    }
    return {
      commitments: json.commitments,
      prefixQueries: {
        minNibbles: json.prefix_queries.min_nibbles,
        maxEntries: json.prefix_queries.max_entries,
      },
    };
  }
}

/** Whether `url` can name a calendar: http(s), with a host. */
export function isCalendarUrl(url: string): boolean {
  return /^https?:\/\/[^/]/.test(url) && URL.canParse(url);
}

/**
 * The commitment a calendar's answer to a fresh digest leads to: its ops end in exactly one
 * PendingAttestation (the calendar's own); anything else is a BadAnswerError.
 */
export function pendingCommitment(answer: Timestamp): Uint8Array {
  const attestations: [Uint8Array, Attestation][] = [...answer.allAttestations()];
  const [only] = attestations;
  if (attestations.length !== 1 || !only || !(only[1] instanceof PendingAttestation)) {
    const summary = `its answer has ${attestations.length} attestations; a calendar's has one PendingAttestation`;
    throw new BadAnswerError(
      `its answer has ${attestations.length} attestations (${attestations.map(([, a]) => a.toString()).join(', ')}); a calendar's has one PendingAttestation`,
      summary,
    );
  }
  return only[0];
}

function parseAnswer(msg: Uint8Array, body: Uint8Array, where: string): Timestamp {
  try {
    return Timestamp.fromBytes(msg, body);
  } catch (e) {
    throw new CalendarError(`${where}: the answer is not a timestamp: ${(e as Error).message}`);
  }
}

/** Why a fetch failed: undici's "fetch failed" hides the reason (ECONNREFUSED, ...) in its cause. */
function fetchFailure(e: unknown): string {
  const error = e as Error & { cause?: { code?: string; message?: string } };
  const cause = error.cause?.code ?? error.cause?.message;
  return cause ? `${error.message} (${cause})` : error.message;
}

/** boundedBody, its failures as CalendarErrors. */
async function boundedAnswer(response: Response, limit: number): Promise<Uint8Array> {
  try {
    return await boundedBody(response, limit);
  } catch (e) {
    throw new CalendarError((e as Error).message);
  }
}

/**
 * The prefix of `commitment` to ask for: the longest whose expected number of commitments (`total` /
 * 16^nibbles, commitments being uniform hashes) is still at least `k`, and never shorter than the
 * calendar's minimum.
 */
export function anonymousPrefix(
  commitment: Uint8Array,
  total: number,
  k: number,
  minNibbles: number,
): string {
  const hex = toHex(commitment);
  let nibbles = minNibbles;
  while (nibbles < hex.length && total / 16 ** (nibbles + 1) >= k) nibbles++;
  return hex.slice(0, nibbles);
}

/**
 * Fetches the timestamp of `commitment` through a prefix query, so the calendar cannot tell which
 * commitment is asked for. `prefix` fixes the prefix; otherwise it is chosen for an anonymity set of
 * `k` from the calendar's status. Undefined while the commitment is not complete.
 */
export async function upgradeByPrefix(
  calendar: RemoteCalendar,
  commitment: Uint8Array,
  choice: { prefix: string } | { k: number },
): Promise<{ timestamp: Timestamp | undefined; prefix: string; anonymitySet: number }> {
  let prefix: string;
  if ('prefix' in choice) {
    prefix = choice.prefix;
  } else {
    const status = await calendar.status();
    prefix = anonymousPrefix(commitment, status.commitments, choice.k, status.prefixQueries.minNibbles);
  }
  if (!toHex(commitment).startsWith(prefix))
    throw new RangeError(`prefix ${prefix} is not a prefix of the commitment`);
  const entries = await calendar.getTimestampsByPrefix(prefix);
  const own = entries.find((e) => equalBytes(e.commitment, commitment));
  return { timestamp: own?.complete ? own.timestamp : undefined, prefix, anonymitySet: entries.length };
}

/**
 * Cover traffic: prefix queries for random prefixes at random times (a Poisson process at
 * `perMinute`), so that real queries hide among them. Answers are read and dropped.
 */
export class CoverTraffic {
  private timer: NodeJS.Timeout | undefined;
  private readonly calendar: RemoteCalendar;
  private readonly perMinute: number;
  private readonly nibbles: number;
  /** Queries sent and failures, for the curious. */
  readonly counts = { sent: 0, failed: 0 };

  constructor(calendar: RemoteCalendar, options: { perMinute: number; nibbles: number }) {
    if (!(options.perMinute > 0)) throw new RangeError('cover traffic: perMinute must be positive');
    this.calendar = calendar;
    this.perMinute = options.perMinute;
    this.nibbles = options.nibbles;
  }

  start(): void {
    const next = () => {
      const waitMs = (-Math.log(1 - Math.random()) * 60_000) / this.perMinute;
      this.timer = setTimeout(() => {
        const prefix = toHex(crypto.getRandomValues(new Uint8Array(Math.ceil(this.nibbles / 2)))).slice(
          0,
          this.nibbles,
        );
        this.counts.sent++;
        this.calendar.getTimestampsByPrefix(prefix).catch(() => {
          this.counts.failed++;
        });
        next();
      }, waitMs);
      this.timer.unref();
    };
    next();
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}
