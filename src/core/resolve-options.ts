import { BREAKER_OPTIONS as TABLE, checkBreakerOptions, LOAD_SHED_OPTIONS } from './breaker-option-table';
import type { BreakerOptions, LoadShedOptions, ResolvedBreakerOptions } from './breaker-options';
import { defaultFailureWeight, defaultIsFailure } from './default-predicates';
import { InvalidBreakerOptionsError } from './errors';
import type { OptionSite } from './option-table';
import { PRESETS } from './presets';

/**
 * Merges preset < defaults < own options, validates each layer and the result, and fills in
 * the defaults from the options table. A `failureThreshold` from a preset does not count as
 * given explicitly: with a `failureRateThreshold`, only one from `defaults` or the breaker's
 * own options applies. `breaker` undefined resolves the defaults alone (errors say "in defaults").
 */
export function resolveBreakerOptions(
  breaker: string | undefined,
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

function resolveOnce(
  breaker: string | undefined,
  own: BreakerOptions,
  defaults: BreakerOptions,
): ResolvedBreakerOptions {
  const site: OptionSite = breaker === undefined ? { scope: 'defaults' } : { scope: 'breaker', breaker };
  checkBreakerOptions({ scope: 'defaults' }, defaults);
  checkBreakerOptions(site, own);
  const invalid = (key: string, value: unknown, expected: string) =>
    new InvalidBreakerOptionsError(site.breaker, key, value, expected, site.scope);
  const presetName = own.preset ?? defaults.preset;
  const preset = presetName ? PRESETS[presetName] : {};
  const o: BreakerOptions = { ...preset, ...defaults, ...own };
  const explicitThreshold = own.failureThreshold ?? defaults.failureThreshold;

  const openDuration = valueOf(o, 'openDuration');
  const openDurationMax = o.openDurationMax ?? openDuration;
  const openBackoff = valueOf(o, 'openBackoff');
  if (openDurationMax < openDuration) {
    throw invalid('openDurationMax', openDurationMax, `at least openDuration (${openDuration})`);
  }
  if (openBackoff > 1 && openDurationMax === openDuration) {
    throw invalid(
      'openDurationMax',
      o.openDurationMax,
      `a cap above openDuration (${openDuration}) for openBackoff ${openBackoff} to have any effect`,
    );
  }
  const window = valueOf(o, 'window');
  const minimumCalls =
    o.minimumCalls ?? Math.min(valueOf(o, 'minimumCalls'), window.type === 'count' ? window.size : Infinity);
  if (window.type === 'count' && minimumCalls > window.size) {
    throw invalid('minimumCalls', minimumCalls, `at most window.size (${window.size})`);
  }
  if ((o.slowCallDuration === undefined) !== (o.slowCallRateThreshold === undefined)) {
    const missing = o.slowCallDuration === undefined ? 'slowCallDuration' : 'slowCallRateThreshold';
    throw invalid(missing, undefined, 'set together with the other slow-call option');
  }

  return Object.freeze({
    failureThreshold:
      o.failureRateThreshold === undefined ? valueOf(o, 'failureThreshold') : explicitThreshold,
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
    autoRecover: valueOf(o, 'autoRecover'),
    halfOpenMaxCalls: valueOf(o, 'halfOpenMaxCalls'),
    halfOpenMaxWait: o.halfOpenMaxWait ?? openDuration,
    timeout: valueOf(o, 'timeout'),
    resetCooldown: valueOf(o, 'resetCooldown'),
    critical: valueOf(o, 'critical'),
    loadShed: resolveLoadShed(valueOf(o, 'loadShed')),
    fleetQuorum: valueOf(o, 'fleetQuorum'),
    shared: valueOf(o, 'shared'),
    preset: presetName,
  });
}

function resolveLoadShed(loadShed: LoadShedOptions | false): ResolvedBreakerOptions['loadShed'] {
  if (loadShed === false) return false;
  return Object.freeze({
    utilization: loadShed.utilization ?? (LOAD_SHED_OPTIONS.utilization.default as number),
    inFlight: loadShed.inFlight ?? (LOAD_SHED_OPTIONS.inFlight.default as number),
  });
}

/** An option's value, or its default from the table. */
function valueOf<K extends keyof BreakerOptions>(o: BreakerOptions, key: K): Required<BreakerOptions>[K] {
  return (o[key] ?? TABLE[key].default) as Required<BreakerOptions>[K];
}
