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

/** Whether `name` is an origin breaker's: the prefix, then an origin exactly as `URL.origin` writes it. */
export function isOriginBreakerName(name: string): boolean {
  if (!name.startsWith(ORIGIN_BREAKER_PREFIX)) return false;
  const origin = name.slice(ORIGIN_BREAKER_PREFIX.length);
  return originOf(origin) === origin;
}
