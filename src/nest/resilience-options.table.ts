import { checkOptions, isPlainObject, rules, type OptionTable } from '../core/option-table';
import { MAX_BREAKERS_RULE, MAX_KEYS_RULE } from '../core/registry-option-table';
import { checkHttpOptions, HTTP_OPTIONS } from '../http/http-option-table';
import { isBreakerStore } from '../stores/create-store';
import { checkStoreOptions } from '../stores/store-option-table';
import { DEFAULT_SHUTDOWN_TIMEOUT } from './resilience.constants';
import type { MetricsOptions, ResilienceModuleOptions } from './resilience-options.interface';

/** What Prometheus accepts at the start of a metric name. */
const METRIC_NAME_PREFIX = /^([a-zA-Z_:][a-zA-Z0-9_:]*)?$/;

/** `options.metrics`. */
export const METRICS_OPTIONS: OptionTable<MetricsOptions> = {
  registry: {
    check: (v) =>
      isPlainObject(v) && typeof v.registerMetric === 'function' && typeof v.getSingleMetric === 'function',
    expected: 'a prom-client Registry',
    defaultIs: "prom-client's global register",
  },
  prefix: {
    check: (v) => typeof v === 'string' && METRIC_NAME_PREFIX.test(v),
    expected: 'letters, digits, "_" or ":", not starting with a digit',
    default: '',
  },
  perKey: { ...rules.boolean, default: false },
};

/**
 * The options `forRoot()` takes, or `forRootAsync()`'s factory returns. Breaker options are
 * checked per breaker by the registry, which names the breaker.
 */
export const MODULE_OPTIONS: OptionTable<ResilienceModuleOptions> = {
  defaults: { check: isPlainObject, expected: 'an object of BreakerOptions', default: {} },
  breakers: { check: isPlainObject, expected: 'an object of breaker name -> BreakerOptions', default: {} },
  // Each policy's options are checked by the policy registry, which knows the breakers' timeouts.
  policies: { check: isPlainObject, expected: 'an object of policy name -> PolicyOptions', default: {} },
  store: {
    check: () => true,
    expected:
      "{ type: 'memory' }, { type: 'sqlite', path, … }, { type: 'redis', url | client, … } or a BreakerStore",
    default: { type: 'memory' },
    inner: (store) => {
      if (!isBreakerStore(store)) checkStoreOptions(store);
    },
  },
  metrics: {
    check: (v) => v === false || isPlainObject(v),
    expected: '{ registry?, prefix?, perKey? } or false',
    defaultIs: 'on when prom-client is installed',
    inner: (metrics) => {
      if (metrics !== false) checkMetricsOptions(metrics);
    },
  },
  maxKeysPerBreaker: MAX_KEYS_RULE,
  maxBreakers: MAX_BREAKERS_RULE,
  shutdownTimeout: { ...rules.duration(0, false), default: DEFAULT_SHUTDOWN_TIMEOUT },
  http: {
    check: () => true,
    expected: '{ fetch?, axios?, defaults?, origins?, maxOrigins? }',
    defaultIs: 'off',
    inner: (http) => checkHttpOptions(HTTP_OPTIONS, http),
  },
};

/**
 * Refuses module options that are not an object, carry an unknown key (a typo such as
 * `breaker` for `breakers` would otherwise leave every breaker on defaults without a word) or
 * a bad value, nested objects (`store`, `metrics`) included.
 * @throws {InvalidBreakerOptionsError} with the scope of the object at fault.
 */
export function checkModuleOptions(options: unknown): asserts options is ResilienceModuleOptions {
  checkOptions(
    {
      scope: 'module',
      unknownKeyHint: ' (admin and isGlobal sit next to useFactory in forRootAsync)',
    },
    MODULE_OPTIONS,
    options,
  );
}

/** @throws {InvalidBreakerOptionsError} (scope `metrics`) on a bad or unknown key. */
export function checkMetricsOptions(options: unknown): asserts options is MetricsOptions {
  checkOptions({ scope: 'metrics' }, METRICS_OPTIONS, options, 'metrics.');
}
