import { InvalidBreakerOptionsError, type OptionScope } from './errors';

/** The longest a Node timer can wait: `setTimeout` fires at once (with a warning) beyond it. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** What one option's value must be, and its value when it is absent. */
export interface OptionRule<T> {
  /** Whether a given value is acceptable (`undefined` is never checked: the option is absent). */
  readonly check: (value: unknown) => boolean;
  /** The same as `check`, in words: the error's `expected`. */
  readonly expected: string;
  /** The option must be given. */
  readonly required?: true;
  /** The value when absent, where it does not depend on other options. */
  readonly default?: T;
  /** The default in words, where it depends on other options (e.g. `openDuration`). */
  readonly defaultIs?: string;
  /** Checks a nested options object once `check` passed; `key` is its path, e.g. `store`. */
  readonly inner?: (value: T, key: string, site: OptionSite) => void;
}

/**
 * One options object's known keys, each with its rule and default: validation, the
 * resolved options and the README's options table all read it.
 */
export type OptionTable<O> = { readonly [K in keyof Required<O>]: OptionRule<Required<O>[K]> };

/** Where an options object sits: the error's `scope` and, for a breaker's own, its name. */
export interface OptionSite {
  readonly scope: OptionScope;
  readonly breaker?: string;
  /** Said after the known keys when a key is unknown. */
  readonly unknownKeyHint?: string;
}

/**
 * Checks an options object against its table: an object, no unknown key (the known ones are
 * listed), required keys present, every value given following its rule, nested objects too.
 * `path` is prepended to every key the error names (`store.` for the store's options).
 * @throws {InvalidBreakerOptionsError} on the first bad key.
 */
export function checkOptions<O>(
  site: OptionSite,
  table: OptionTable<O>,
  options: unknown,
  path = '',
): asserts options is O {
  const fail = (key: string, value: unknown, expected: string): never => {
    throw new InvalidBreakerOptionsError(site.breaker, key, value, expected, site.scope);
  };
  if (!isPlainObject(options)) fail(path === '' ? '(options)' : path.slice(0, -1), options, 'an object');
  const record = options as Record<string, unknown>;
  const rules = table as Record<string, OptionRule<unknown>>;
  for (const key of Object.keys(record)) {
    if (!Object.hasOwn(rules, key)) {
      const known = Object.keys(rules).join(', ');
      fail(path + key, record[key], `no such option; known: ${known}${site.unknownKeyHint ?? ''}`);
    }
  }
  for (const [key, rule] of Object.entries(rules)) {
    const value = record[key];
    if (value === undefined) {
      if (rule.required) fail(path + key, value, rule.expected);
      continue;
    }
    if (!rule.check(value)) fail(path + key, value, rule.expected);
    rule.inner?.(value, path + key, site);
  }
}

/** One of several tables, chosen by the value of one key (`type`), as in a discriminated union. */
export function checkVariant(
  site: OptionSite,
  discriminant: string,
  tables: Readonly<Record<string, OptionTable<object>>>,
  options: unknown,
  path: string,
): void {
  const tag = isPlainObject(options) ? options[discriminant] : undefined;
  if (typeof tag !== 'string' || !Object.hasOwn(tables, tag)) {
    const expected = Object.keys(tables)
      .map((t) => `'${t}'`)
      .join(' or ');
    throw new InvalidBreakerOptionsError(
      site.breaker,
      isPlainObject(options) ? `${path}.${discriminant}` : path,
      isPlainObject(options) ? tag : options,
      isPlainObject(options) ? expected : `an object with ${discriminant}: ${expected}`,
      site.scope,
    );
  }
  checkOptions(site, tables[tag], options, `${path}.`);
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The rules the tables share. */
export const rules = {
  /** A number of ms in (0, MAX_TIMER_MS]: every duration can be waited on by a timer and added to a date. */
  duration: (min = 0, exclusive = true): Pick<OptionRule<number>, 'check' | 'expected'> => ({
    check: (v) => typeof v === 'number' && (exclusive ? v > min : v >= min) && v <= MAX_TIMER_MS,
    expected: `a duration in ms ${exclusive ? '>' : '>='} ${min} and <= ${MAX_TIMER_MS} (about 24.8 days)`,
  }),
  positive: {
    check: (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v > 0,
    expected: 'a number > 0',
  },
  ratio: {
    check: (v: unknown) => typeof v === 'number' && v > 0 && v <= 1,
    expected: 'a ratio in (0, 1]',
  },
  integer: (min: number, max = Number.MAX_SAFE_INTEGER): Pick<OptionRule<number>, 'check' | 'expected'> => ({
    check: (v) => Number.isInteger(v) && (v as number) >= min && (v as number) <= max,
    expected: `an integer >= ${min}${max === Number.MAX_SAFE_INTEGER ? '' : ` and <= ${max.toLocaleString('en')}`}`,
  }),
  boolean: { check: (v: unknown) => typeof v === 'boolean', expected: 'true or false' },
  fn: (signature: string): Pick<OptionRule<unknown>, 'check' | 'expected'> => ({
    check: (v) => typeof v === 'function',
    expected: `a function ${signature}`,
  }),
  oneOf: (values: readonly string[]): Pick<OptionRule<unknown>, 'check' | 'expected'> => ({
    check: (v) => typeof v === 'string' && values.includes(v),
    expected: `one of ${values.join(', ')}`,
  }),
  nonEmptyString: (what: string): Pick<OptionRule<unknown>, 'check' | 'expected'> => ({
    check: (v) => typeof v === 'string' && v.trim() !== '',
    expected: what,
  }),
} as const;
