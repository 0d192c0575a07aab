import { isPlainObject, rules, type OptionRule, type OptionTable } from './option-table';
import type { BreakerRegistryOptions } from './registry';

/** A V8 Map holds at most 2^24 entries, and a group holds one more than its bound while it evicts. */
const MAX_KEYS_PER_BREAKER = 2 ** 24 - 1;

export const MAX_KEYS_RULE: OptionRule<number> = {
  ...rules.integer(1, MAX_KEYS_PER_BREAKER),
  default: 1000,
};

/** Named breakers are never evicted: the bound stops names built from requests. */
export const MAX_BREAKERS_RULE: OptionRule<number> = {
  ...rules.integer(1, MAX_KEYS_PER_BREAKER),
  default: 10_000,
};

/** `new BreakerRegistry(options)`: breaker options are checked per breaker as it is built. */
export const REGISTRY_OPTIONS: OptionTable<BreakerRegistryOptions> = {
  defaults: { check: isPlainObject, expected: 'an object of BreakerOptions', default: {} },
  breakers: { check: isPlainObject, expected: 'an object of breaker name -> options', default: {} },
  clock: {
    check: (v) => isPlainObject(v) && typeof v.now === 'function',
    expected: 'a clock: { now(): number }',
    defaultIs: 'the wall clock',
  },
  maxKeysPerBreaker: MAX_KEYS_RULE,
  maxBreakers: MAX_BREAKERS_RULE,
  auditLog: {
    check: (v) => isPlainObject(v) && typeof v.append === 'function' && typeof v.list === 'function',
    expected: 'an AuditLog (append, list)',
    defaultIs: 'a MemoryAuditLog of 1,000 entries',
  },
  loadSampler: {
    check: (v) => isPlainObject(v) && typeof v.utilization === 'function',
    expected: 'a LoadSampler: { utilization(): number }',
    defaultIs: 'one event-loop sampler per process',
  },
};
