/** What an origin breaker's name starts with: `http:https://api.example.com`. */
export const ORIGIN_BREAKER_PREFIX = 'http:';

/**
 * The origin (`https://api.example.com:8443`, as `URL.origin` writes it) a request goes to;
 * undefined for a URL that does not parse or is not http(s), which no origin breaker guards.
 */
export function originOf(url: string | URL): string | undefined {
  let parsed: URL;
  try {
    parsed = typeof url === 'string' ? new URL(url) : url;
  } catch {
    return undefined;
  }
  return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.origin : undefined;
}

/**
 * The start of `url` up to where its authority surely ends (the first `/`, `?` or `#` after
 * `http://` or `https://`, or the end): every URL that starts the same has the same origin.
 * Undefined for a URL written otherwise, whose origin only a parse can tell: an empty authority
 * (`http:///host`: the parser reads past more slashes), or one holding a backslash (another end
 * of it, or more slashes), a space, a tab, a newline or another control character (which the
 * parser strips): there the host may come after the prefix, and URLs to other hosts would share it.
 */
export function authorityPrefixOf(url: string): string | undefined {
  const start = url.startsWith('https://') ? 8 : url.startsWith('http://') ? 7 : -1;
  if (start < 0) return undefined;
  for (let i = start; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (isAuthorityEnd(c)) return i === start ? undefined : url.slice(0, i);
    if (c <= SPACE || c === BACKSLASH) return undefined;
  }
  return url.length === start ? undefined : url;
}

/** Whether `url`'s authority prefix may end at `index`: its end, or a `/`, `?` or `#` there. */
export function endsAuthority(url: string, index: number): boolean {
  return index === url.length || isAuthorityEnd(url.charCodeAt(index));
}

function isAuthorityEnd(c: number): boolean {
  return c === SLASH || c === QUESTION_MARK || c === HASH;
}

const SLASH = 0x2f;
const QUESTION_MARK = 0x3f;
const HASH = 0x23;
const SPACE = 0x20;
const BACKSLASH = 0x5c;

/**
 * Whether `name` (an origin breaker's) is the breaker of `origin`, as `URL.origin` writes it:
 * compared in place, making no string.
 */
export function isBreakerOf(name: string, origin: unknown): boolean {
  return (
    typeof origin === 'string' &&
    name.length === ORIGIN_BREAKER_PREFIX.length + origin.length &&
    name.endsWith(origin)
  );
}

/** Whether `name` is an origin breaker's: the prefix, then an origin exactly as `URL.origin` writes it. */
export function isOriginBreakerName(name: string): boolean {
  if (!name.startsWith(ORIGIN_BREAKER_PREFIX)) return false;
  const origin = name.slice(ORIGIN_BREAKER_PREFIX.length);
  return originOf(origin) === origin;
}
