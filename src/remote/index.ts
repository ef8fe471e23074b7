/**
 * `otsd/remote`: a client for OpenTimestamps calendars, including otsd's prefix queries.
 * @module
 */
export {
  anonymousPrefix,
  type CalendarClientOptions,
  CalendarError,
  type CalendarStatus,
  CoverTraffic,
  RemoteCalendar,
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
