import { BREAKER_OPTIONS } from '../core/breaker-option-table';
import { InvalidBreakerOptionsError } from '../core/errors';
import { checkOptions, isPlainObject, rules, type OptionSite, type OptionTable } from '../core/option-table';
import { MAX_BREAKERS_RULE } from '../core/registry-option-table';
import type { OutgoingHttpOptions, ResilientFetchOptions } from './http-options';
import { originOf } from './origin';

const breakerOptions = {
  check: isPlainObject,
  expected: 'an object of BreakerOptions',
  inner: (value: unknown, key: string, site: OptionSite) =>
    checkOptions(site, BREAKER_OPTIONS, value, `${key}.`),
} as const;

/** `createResilientFetch()`'s options; each origin's options are resolved too when they are set. */
export const RESILIENT_FETCH_OPTIONS: OptionTable<ResilientFetchOptions> = {
  defaults: { ...breakerOptions, default: { preset: 'http' } },
  origins: {
    check: isPlainObject,
    expected: 'an object of origin -> BreakerOptions',
    default: {},
    inner: (origins, key, site) => {
      for (const [origin, options] of Object.entries(origins)) {
        if (originOf(origin) !== origin) {
          const expected =
            "origins as URL.origin writes them: 'https://api.example.com', no path or trailing /";
          throw new InvalidBreakerOptionsError(undefined, key, origin, expected, site.scope);
        }
        breakerOptions.inner(options, `${key}.${origin}`, site);
      }
    },
  },
  maxOrigins: { ...MAX_BREAKERS_RULE, default: 1000 },
};

/** The module's `http` option. */
export const HTTP_OPTIONS: OptionTable<OutgoingHttpOptions> = {
  ...RESILIENT_FETCH_OPTIONS,
  fetch: { ...rules.boolean, default: false },
  axios: { ...rules.boolean, default: false },
};

/** @throws {InvalidBreakerOptionsError} (scope `http`) naming the key at fault, `http.` and all. */
export function checkHttpOptions(
  table: OptionTable<ResilientFetchOptions>,
  options: unknown,
): asserts options is ResilientFetchOptions {
  checkOptions({ scope: 'http' }, table, options, 'http.');
  // Every configured origin has its breaker from start-up and keeps it: maxOrigins counts them.
  const configured = Object.keys(options.origins ?? {}).length;
  const max = options.maxOrigins ?? (table.maxOrigins.default as number);
  if (configured > max) {
    const expected =
      `at least the ${configured} origins of http.origins, whose breakers are made at start-up and ` +
      'never evicted (the other origins share what is left)';
    throw new InvalidBreakerOptionsError(undefined, 'http.maxOrigins', max, expected, 'http');
  }
}
