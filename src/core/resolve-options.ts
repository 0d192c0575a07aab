import type { BreakerOptions, ResolvedBreakerOptions, WindowOptions } from './breaker-options';
import { defaultFailureWeight, defaultIsFailure } from './default-predicates';
import { InvalidBreakerOptionsError } from './errors';
import { PRESETS } from './presets';

const KNOWN_KEYS: ReadonlySet<string> = new Set<keyof BreakerOptions>([
  'failureThreshold',
  'failureRateThreshold',
  'minimumCalls',
  'window',
  'slowCallDuration',
  'slowCallRateThreshold',
  'failureWeight',
  'isFailure',
  'openDuration',
  'openBackoff',
  'openDurationMax',
  'autoRecover',
  'halfOpenMaxCalls',
  'halfOpenMaxWait',
  'timeout',
  'resetCooldown',
  'critical',
  'preset',
]);

type Check = (value: unknown) => boolean;
const positive: Check = (v) => typeof v === 'number' && Number.isFinite(v) && v > 0;
const positiveInt: Check = (v) => positive(v) && Number.isInteger(v);
const ratio: Check = (v) => positive(v) && (v as number) <= 1;
const nonNegative: Check = (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const atLeastOne: Check = (v) => typeof v === 'number' && Number.isFinite(v) && v >= 1;
const isFunction: Check = (v) => typeof v === 'function';
const isBoolean: Check = (v) => typeof v === 'boolean';

const RULES: ReadonlyArray<[keyof BreakerOptions, Check, string]> = [
  ['failureThreshold', positive, 'a number > 0'],
  ['failureRateThreshold', ratio, 'a ratio in (0, 1]'],
  ['minimumCalls', positiveInt, 'an integer >= 1'],
  ['slowCallDuration', positive, 'a duration in ms > 0'],
  ['slowCallRateThreshold', ratio, 'a ratio in (0, 1]'],
  ['failureWeight', isFunction, 'a function (error) => number'],
  ['isFailure', isFunction, 'a function (error) => boolean'],
  ['openDuration', positive, 'a duration in ms > 0'],
  ['openBackoff', atLeastOne, 'a multiplier >= 1'],
  ['openDurationMax', positive, 'a duration in ms > 0'],
  ['autoRecover', isBoolean, 'true or false'],
  ['halfOpenMaxCalls', positiveInt, 'an integer >= 1'],
  ['halfOpenMaxWait', positive, 'a duration in ms > 0'],
  ['timeout', (v) => v === false || positive(v), 'a duration in ms > 0, or false'],
  ['resetCooldown', nonNegative, 'a duration in ms >= 0'],
  ['critical', isBoolean, 'true or false'],
  [
    'preset',
    (v) => typeof v === 'string' && Object.hasOwn(PRESETS, v),
    `one of ${Object.keys(PRESETS).join(', ')}`,
  ],
];

/**
 * Checks one layer of options (a breaker's own, or the defaults) and throws
 * {@link InvalidBreakerOptionsError} naming the breaker, the key, the value and what was expected.
 */
export function validateBreakerOptions(breaker: string, options: unknown): asserts options is BreakerOptions {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidBreakerOptionsError(breaker, '(options)', options, 'an object');
  }
  const record = options as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!KNOWN_KEYS.has(key)) {
      throw new InvalidBreakerOptionsError(
        breaker,
        key,
        record[key],
        `no such option; known: ${[...KNOWN_KEYS].join(', ')}`,
      );
    }
  }
  for (const [key, check, expected] of RULES) {
    const value = record[key];
    if (value !== undefined && !check(value))
      throw new InvalidBreakerOptionsError(breaker, key, value, expected);
  }
  if (record.window !== undefined) validateWindow(breaker, record.window);
}

function validateWindow(breaker: string, window: unknown): asserts window is WindowOptions {
  const w = window as Record<string, unknown> | null;
  if (typeof w !== 'object' || w === null) {
    throw new InvalidBreakerOptionsError(
      breaker,
      'window',
      window,
      "{ type: 'time', ms } or { type: 'count', size }",
    );
  }
  if (w.type === 'time') {
    if (!positive(w.ms))
      throw new InvalidBreakerOptionsError(breaker, 'window.ms', w.ms, 'a duration in ms > 0');
    if (Object.keys(w).some((k) => k !== 'type' && k !== 'ms')) {
      throw new InvalidBreakerOptionsError(
        breaker,
        'window',
        window,
        "{ type: 'time', ms } with no other key",
      );
    }
  } else if (w.type === 'count') {
    if (!positiveInt(w.size))
      throw new InvalidBreakerOptionsError(breaker, 'window.size', w.size, 'an integer >= 1');
    if (Object.keys(w).some((k) => k !== 'type' && k !== 'size')) {
      throw new InvalidBreakerOptionsError(
        breaker,
        'window',
        window,
        "{ type: 'count', size } with no other key",
      );
    }
  } else {
    throw new InvalidBreakerOptionsError(breaker, 'window.type', w.type, "'time' or 'count'");
  }
}

/**
 * Merges preset < defaults < own options, validates each layer and the result, and fills in
 * the defaults. A `failureThreshold` from a preset does not count as given explicitly: with a
 * `failureRateThreshold`, only one from `defaults` or the breaker's own options applies.
 */
export function resolveBreakerOptions(
  breaker: string,
  own: BreakerOptions = NONE,
  defaults: BreakerOptions = NONE,
): ResolvedBreakerOptions {
  const cached = resolved.get(own)?.get(defaults);
  if (cached) return cached;
  const result = resolveOnce(breaker, own, defaults);
  let byDefaults = resolved.get(own);
  if (!byDefaults) resolved.set(own, (byDefaults = new WeakMap()));
  byDefaults.set(defaults, result);
  return result;
}

/** Stands for "no options" so that breakers built without options share one resolution. */
const NONE: BreakerOptions = Object.freeze({});

/**
 * Resolutions by (own options, defaults) object: breakers built from the same options objects
 * (per-key breakers, thousands of `new Breaker(name)`) share one frozen result instead of
 * each holding a copy. Options objects are read once, when first used.
 */
const resolved = new WeakMap<BreakerOptions, WeakMap<BreakerOptions, ResolvedBreakerOptions>>();

function resolveOnce(breaker: string, own: BreakerOptions, defaults: BreakerOptions): ResolvedBreakerOptions {
  validateBreakerOptions(breaker, defaults);
  validateBreakerOptions(breaker, own);
  const presetName = own.preset ?? defaults.preset;
  const preset = presetName ? PRESETS[presetName] : {};
  const o: BreakerOptions = { ...preset, ...defaults, ...own };
  const explicitThreshold = own.failureThreshold ?? defaults.failureThreshold;

  const openDuration = o.openDuration ?? 30_000;
  const openDurationMax = o.openDurationMax ?? openDuration;
  const openBackoff = o.openBackoff ?? 1;
  if (openDurationMax < openDuration) {
    throw new InvalidBreakerOptionsError(
      breaker,
      'openDurationMax',
      openDurationMax,
      `at least openDuration (${openDuration})`,
    );
  }
  if (openBackoff > 1 && openDurationMax === openDuration) {
    throw new InvalidBreakerOptionsError(
      breaker,
      'openDurationMax',
      o.openDurationMax,
      `a cap above openDuration (${openDuration}) for openBackoff ${openBackoff} to have any effect`,
    );
  }
  const window = o.window ?? { type: 'time', ms: 60_000 };
  const minimumCalls = o.minimumCalls ?? (window.type === 'count' ? Math.min(10, window.size) : 10);
  if (window.type === 'count' && minimumCalls > window.size) {
    throw new InvalidBreakerOptionsError(
      breaker,
      'minimumCalls',
      minimumCalls,
      `at most window.size (${window.size})`,
    );
  }
  if ((o.slowCallDuration === undefined) !== (o.slowCallRateThreshold === undefined)) {
    const missing = o.slowCallDuration === undefined ? 'slowCallDuration' : 'slowCallRateThreshold';
    throw new InvalidBreakerOptionsError(
      breaker,
      missing,
      undefined,
      'set together with the other slow-call option',
    );
  }

  return Object.freeze({
    failureThreshold: o.failureRateThreshold === undefined ? (o.failureThreshold ?? 5) : explicitThreshold,
    failureRateThreshold: o.failureRateThreshold,
    minimumCalls,
    window: Object.freeze({ ...window }),
    slowCallDuration: o.slowCallDuration,
    slowCallRateThreshold: o.slowCallRateThreshold,
    failureWeight: o.failureWeight ?? defaultFailureWeight,
    isFailure: o.isFailure ?? defaultIsFailure,
    openDuration,
    openBackoff,
    openDurationMax,
    autoRecover: o.autoRecover ?? true,
    halfOpenMaxCalls: o.halfOpenMaxCalls ?? 1,
    halfOpenMaxWait: o.halfOpenMaxWait ?? openDuration,
    timeout: o.timeout ?? false,
    resetCooldown: o.resetCooldown ?? 60_000,
    critical: o.critical ?? false,
    preset: presetName,
  });
}
