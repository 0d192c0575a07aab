import type { BreakerOptions, LoadShedOptions, WindowOptions } from './breaker-options';
import {
  checkOptions,
  checkVariant,
  isPlainObject,
  rules,
  type OptionSite,
  type OptionTable,
} from './option-table';
import { PRESETS } from './presets';

/**
 * The shortest time window: 10 buckets of 1 ms. A bucket narrower than that makes the bucket
 * number of a date lose its precision (a window of 0.001 ms made the first call loop forever).
 */
const MIN_TIME_WINDOW_MS = 10;

/** The largest count window: its ring costs 9 bytes per slot, allocated on the first call. */
const MAX_COUNT_WINDOW_SIZE = 1_000_000;

const duration = rules.duration();

type TimeWindow = Extract<WindowOptions, { type: 'time' }>;
type CountWindow = Extract<WindowOptions, { type: 'count' }>;

const TIME_WINDOW: OptionTable<TimeWindow> = {
  type: { check: (v) => v === 'time', expected: "'time'", required: true },
  ms: { ...rules.duration(MIN_TIME_WINDOW_MS, false), required: true },
};

const COUNT_WINDOW: OptionTable<CountWindow> = {
  type: { check: (v) => v === 'count', expected: "'count'", required: true },
  size: { ...rules.integer(1, MAX_COUNT_WINDOW_SIZE), required: true },
};

/** `loadShed`: when a breaker sheds calls. */
export const LOAD_SHED_OPTIONS: OptionTable<LoadShedOptions> = {
  utilization: { ...rules.ratio, default: 0.85 },
  inFlight: { ...rules.integer(0), default: 100 },
};

/** A breaker's options: what each must be, and its default (README "Options" follows this table). */
export const BREAKER_OPTIONS: OptionTable<BreakerOptions> = {
  failureThreshold: { ...rules.positive, default: 5 },
  failureRateThreshold: rules.ratio,
  minimumCalls: { ...rules.integer(1), default: 10 },
  window: {
    check: (v) => typeof v === 'object' && v !== null,
    expected: "{ type: 'time', ms } or { type: 'count', size }",
    default: { type: 'time', ms: 60_000 },
    inner: (window, key, site) =>
      checkVariant(site, 'type', { time: TIME_WINDOW, count: COUNT_WINDOW }, window, key),
  },
  slowCallDuration: duration,
  slowCallRateThreshold: rules.ratio,
  failureWeight: { ...rules.fn('(error) => number'), defaultIs: 'timeouts 0.5, others 1' },
  isFailure: { ...rules.fn('(error) => boolean'), defaultIs: 'all but HTTP status < 500' },
  openDuration: { ...duration, default: 30_000 },
  openBackoff: {
    check: (v) => typeof v === 'number' && Number.isFinite(v) && v >= 1,
    expected: 'a multiplier >= 1',
    default: 1,
  },
  openDurationMax: { ...duration, defaultIs: 'openDuration' },
  autoRecover: { ...rules.boolean, default: true },
  halfOpenMaxCalls: { ...rules.integer(1), default: 1 },
  halfOpenMaxWait: { ...duration, defaultIs: 'openDuration' },
  timeout: {
    check: (v) => v === false || duration.check(v),
    expected: `${duration.expected}, or false`,
    default: false,
  },
  resetCooldown: { ...rules.duration(0, false), default: 60_000 },
  critical: { ...rules.boolean, default: false },
  loadShed: {
    check: (v) => v === false || isPlainObject(v),
    expected: '{ utilization?, inFlight? } or false',
    default: false,
    inner: (loadShed, key, site) => {
      if (loadShed !== false) checkOptions(site, LOAD_SHED_OPTIONS, loadShed, `${key}.`);
    },
  },
  fleetQuorum: { ...rules.integer(1), default: 1 },
  shared: { ...rules.boolean, default: true },
  preset: rules.oneOf(Object.keys(PRESETS)),
};

/**
 * Checks one layer of breaker options (a breaker's own, or the defaults).
 * @throws {InvalidBreakerOptionsError} naming the breaker (or scope), the key, the value and
 * what was expected.
 */
export function checkBreakerOptions(site: OptionSite, options: unknown): asserts options is BreakerOptions {
  checkOptions(site, BREAKER_OPTIONS, options);
}
