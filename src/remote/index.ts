/**
 * `otsd/remote`: a client for OpenTimestamps calendars, including otsd's prefix queries.
 * @module
 */
export {
  anonymousPrefix,
  BadAnswerError,
  type CalendarClientOptions,
  CalendarError,
  type CalendarStatus,
  type CheckedSubmission,
  CoverTraffic,
  isCalendarUrl,
  MAX_TIP_TIMESTAMP_BYTES,
  pendingCommitment,
  publicReason,
  RemoteCalendar,
  type RemoteLookup,
  upgradeByPrefix,
} from './calendar-client.js';
export {
  decodePrefixAnswer,
  encodePrefixAnswer,
  PREFIX_ANSWER_CONTENT_TYPE,
  PREFIX_ANSWER_VERSION,
  type PrefixEntry,
} from './prefix-answer.js';
export { DEFAULT_CALENDAR_WHITELIST, UrlWhitelist } from './url-whitelist.js';
