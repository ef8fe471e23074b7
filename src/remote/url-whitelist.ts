/**
 * Which calendars a client may contact: python-opentimestamps' `UrlWhitelist` (opentimestamps/
 * calendar.py). A pattern matches a URL with the same scheme and path whose host (with port) matches
 * the pattern's host as a shell glob (`*` and `[...]`, as fnmatch; a `?` would start a query, which
 * patterns may not have). A pattern without a scheme stands for both http:// and https://. URLs with
 * a query or fragment never match.
 * @module
 */

/** The public calendars the reference client trusts by default (DEFAULT_CALENDAR_WHITELIST). */
export const DEFAULT_CALENDAR_WHITELIST: readonly string[] = [
  'https://*.calendar.opentimestamps.org', // run by Peter Todd
  'https://*.calendar.eternitywall.com', // run by Riccardo Casatta of Eternity Wall
  'https://*.calendar.catallaxy.com', // run by Vincent Cloutier of Catallaxy
];

interface Pattern {
  scheme: string;
  host: RegExp;
  path: string;
}

/** The parts a URL is matched on; undefined when it cannot match (not http(s), or a query or fragment). */
function parts(url: string): { scheme: string; host: string; path: string } | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return undefined;
  if (parsed.search !== '' || parsed.hash !== '' || url.includes('?') || url.includes('#')) return undefined;
  // urlparse keeps the path as written: "https://a.example" has path "", not "/"
  const path = /^[a-z]+:\/\/[^/]*(\/.*)?$/i.exec(url)?.[1] ?? '';
  return { scheme: parsed.protocol, host: parsed.host, path };
}

/** fnmatch's glob as a regular expression over the whole string. */
function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*') source += '.*';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end === -1) source += '\\[';
      else {
        const body = glob.slice(i + 1, end).replace(/\\/g, '\\\\');
        source += `[${body.startsWith('!') ? `^${body.slice(1)}` : body}]`;
        i = end;
      }
    } else source += c.replace(/[.+^${}()|\\/]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 's');
}

export class UrlWhitelist {
  private readonly patterns: Pattern[] = [];

  constructor(urls: Iterable<string> = []) {
    for (const url of urls) this.add(url);
  }

  /** Adds a pattern; without a scheme, for http:// and https:// both. */
  add(url: string): void {
    if (!/^https?:\/\//i.test(url)) {
      this.add(`http://${url}`);
      this.add(`https://${url}`);
      return;
    }
    const scheme = url.slice(0, url.indexOf(':') + 1).toLowerCase();
    const rest = url.slice(scheme.length + 2);
    const slash = rest.indexOf('/');
    const host = slash === -1 ? rest : rest.slice(0, slash);
    const path = slash === -1 ? '' : rest.slice(slash);
    if (rest.includes('?') || rest.includes('#') || host === '')
      throw new RangeError(`calendar whitelist: ${url} is not a calendar URL pattern (no query or fragment)`);
    this.patterns.push({ scheme, host: globToRegExp(host.toLowerCase()), path });
  }

  has(url: string): boolean {
    const u = parts(url);
    if (!u) return false;
    return this.patterns.some((p) => p.scheme === u.scheme && p.path === u.path && p.host.test(u.host));
  }
}
