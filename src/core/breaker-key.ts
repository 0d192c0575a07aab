import { InvalidBreakerKeyError, InvalidBreakerOptionsError } from './errors';
import { escapeReversibly, hasUnprintable, unescapeReversibly } from './printable';

/**
 * Sits between a per-key breaker's name and its key in the breaker's full name
 * (`hosts#internal`). No breaker name may contain it, so no per-key breaker's full name can
 * ever be the name of another breaker.
 * @publicApi
 */
export const KEY_SEPARATOR = '#';

/**
 * The longest key a per-key breaker or a rate limit accepts, in UTF-16 code units: keys come
 * from requests, and every key kept costs memory, a store row and its length in every event.
 * @publicApi
 */
export const MAX_KEY_LENGTH = 256;

/**
 * What a per-key breaker is: the name it is kept under (whose options it uses) and its key.
 * @publicApi
 */
export interface BreakerKey {
  readonly name: string;
  readonly key: string;
}

/** What a key function may return: a number stands for its decimal string (`5` and `'5'` are one key). */
export type BreakerKeyInput = string | number | bigint;

/**
 * The key `value` stands for under the name `name`.
 * @throws {InvalidBreakerKeyError} when it is not a string, a number or a bigint, or is longer
 * than {@link MAX_KEY_LENGTH}.
 */
export function toBreakerKey(name: string, value: unknown): string {
  const key = keyOf(value);
  if (key === undefined) throw new InvalidBreakerKeyError(name, value, EXPECTED_KEY);
  return key;
}

/**
 * The key `value` stands for, or undefined when it cannot be one: the rule of every key that
 * may come from a request (a per-key breaker's, a rate limit's). A number stands for its
 * decimal string; anything but a string, a number or a bigint, and any string longer than
 * {@link MAX_KEY_LENGTH}, is no key: nothing is kept for it, and it never shares another's.
 */
export function keyOf(value: unknown): string | undefined {
  const key =
    typeof value === 'string'
      ? value
      : typeof value === 'number' || typeof value === 'bigint'
        ? String(value)
        : undefined;
  return key === undefined || key.length > MAX_KEY_LENGTH ? undefined : key;
}

/** What {@link keyOf} accepts, in words: the `expected` of the errors that refuse a key. */
export const EXPECTED_KEY = `a string or a number, at most ${MAX_KEY_LENGTH} characters long`;

/**
 * The full name of the per-key breaker `key` under `name`: `name#key`, the key's control
 * characters and backslashes escaped (`hosts#a\u001bb`), so the full name prints safely and
 * tells every key apart.
 */
export function keyedBreakerName(name: string, key: string): string {
  return `${name}${KEY_SEPARATOR}${escapeReversibly(key)}`;
}

/** Whether a full name (as `all()` lists it) is a per-key breaker's: `name#key`. */
export function isPerKeyName(fullName: string): boolean {
  return fullName.includes(KEY_SEPARATOR);
}

/**
 * What a full name refers to: a named breaker (`key` undefined) or a per-key one. Undefined
 * for a string no breaker can be named.
 */
export function parseBreakerName(fullName: string): { name: string; key?: string } | undefined {
  const at = fullName.indexOf(KEY_SEPARATOR);
  if (at === -1) return isBreakerName(fullName) ? { name: fullName } : undefined;
  const name = fullName.slice(0, at);
  const key = unescapeReversibly(fullName.slice(at + 1));
  return key === undefined || !isBreakerName(name) ? undefined : { name, key };
}

/**
 * The names a URL reads as steps in its path, even written `%2E`: a breaker of either name could
 * never be reached by the admin API (`<admin>/breakers/<name>`) or the CLI.
 */
const PATH_STEPS: ReadonlySet<string> = new Set(['.', '..']);

/** What a breaker name must be, in words: the `expected` of the error that refuses one. */
const EXPECTED_NAME =
  `a non-empty string other than "." and "..", without "${KEY_SEPARATOR}" ` +
  `(it marks per-key breakers: name${KEY_SEPARATOR}key) or control characters`;

const EXPECTED_NOT_A_PATH_STEP =
  'a name other than "." and "..": a URL reads them as steps in its path (even written %2E), ' +
  'so the admin API and the CLI could never reach the breaker';

/**
 * @throws {InvalidBreakerOptionsError} unless `name` can name a breaker: a non-empty string
 * other than `.` and `..`, without {@link KEY_SEPARATOR} or control characters.
 */
export function assertBreakerName(name: unknown): asserts name is string {
  if (isBreakerName(name)) return;
  const pathStep = typeof name === 'string' && PATH_STEPS.has(name);
  throw new InvalidBreakerOptionsError(
    typeof name === 'string' ? escapeReversibly(name) : String(name),
    'name',
    name,
    pathStep ? EXPECTED_NOT_A_PATH_STEP : EXPECTED_NAME,
  );
}

function isBreakerName(name: unknown): name is string {
  return (
    typeof name === 'string' &&
    name !== '' &&
    !PATH_STEPS.has(name) &&
    !name.includes(KEY_SEPARATOR) &&
    !hasUnprintable(name)
  );
}
