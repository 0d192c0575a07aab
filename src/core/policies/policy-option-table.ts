import { InvalidBreakerOptionsError } from '../errors';
import { checkOptions, isPlainObject, rules, type OptionSite, type OptionTable } from '../option-table';
import { totalBackoff } from './backoff';
import type { ResolvedBulkheadOptions } from './bulkhead';
import type {
  BulkheadOptions,
  PolicyOptions,
  RateLimitOptions,
  RetryBudgetOptions,
  RetryOptions,
} from './policy-options';
import type { ResolvedRateLimitOptions } from './rate-limiter';
import type { ResolvedRetryOptions } from './retry';

/** `retry.budget`. */
export const RETRY_BUDGET_OPTIONS: OptionTable<RetryBudgetOptions> = {
  ratio: {
    check: (v) => typeof v === 'number' && v >= 0 && Number.isFinite(v),
    expected: 'a number >= 0',
    default: 0.2,
  },
  minPerSecond: {
    check: (v) => typeof v === 'number' && v >= 0 && Number.isFinite(v),
    expected: 'a number >= 0',
    default: 10,
  },
};

/** `@Retry` and a policy's `retry`. */
export const RETRY_OPTIONS: OptionTable<RetryOptions> = {
  attempts: { ...rules.integer(0, 100), default: 3 },
  delay: { ...rules.duration(0, false), default: 200 },
  maxDelay: { ...rules.duration(0, false), default: 10_000 },
  backoff: { ...rules.oneOf(['exponential', 'constant']), default: 'exponential' },
  jitter: { ...rules.oneOf(['full', 'none']), default: 'full' },
  retryOn: { ...rules.fn('(error) => boolean'), defaultIs: 'the errors the breaker counts as failures' },
  budget: {
    check: (v) => v === false || isPlainObject(v),
    expected: '{ ratio?, minPerSecond? } or false',
    default: { ratio: 0.2, minPerSecond: 10 },
    inner: (budget, key, site) => {
      if (budget !== false) checkOptions(site, RETRY_BUDGET_OPTIONS, budget, `${key}.`);
    },
  },
};

/** `@Bulkhead` and a policy's `bulkhead`. */
export const BULKHEAD_OPTIONS: OptionTable<BulkheadOptions> = {
  maxConcurrent: { ...rules.integer(1), required: true },
  maxQueue: { ...rules.integer(0), default: 0 },
  queueTimeout: { ...rules.duration(), default: 1_000 },
};

/** `@RateLimit` and a policy's `rateLimit`. */
export const RATE_LIMIT_OPTIONS: OptionTable<RateLimitOptions> = {
  limit: { ...rules.positive, required: true },
  interval: { ...rules.duration(), default: 1_000 },
  burst: { ...rules.integer(1), defaultIs: 'limit' },
  scope: { ...rules.oneOf(['instance', 'fleet']), default: 'instance' },
  key: { ...rules.fn('(...args) => string | number'), defaultIs: 'one bucket' },
};

/** A named policy in the module's `policies` (a decorator's options are checked by the same table). */
export const POLICY_OPTIONS: OptionTable<PolicyOptions> = {
  breaker: { ...rules.nonEmptyString('the name of a breaker'), defaultIs: 'none' },
  retry: nested(RETRY_OPTIONS, '{ attempts?, delay?, maxDelay?, backoff?, jitter?, retryOn?, budget? }'),
  timeout: { ...rules.duration(), defaultIs: 'none' },
  bulkhead: nested(BULKHEAD_OPTIONS, '{ maxConcurrent, maxQueue?, queueTimeout? }'),
  rateLimit: nested(RATE_LIMIT_OPTIONS, '{ limit, interval?, burst?, scope?, key? }'),
  deadLetter: { ...rules.boolean, default: false },
};

function nested<O>(table: OptionTable<O>, expected: string) {
  return {
    check: isPlainObject,
    expected,
    defaultIs: 'none',
    inner: (value: unknown, key: string, site: OptionSite) => checkOptions(site, table, value, `${key}.`),
  };
}

/** What the checks across options need to know from outside the policy. */
export interface PolicyContext {
  /** The per-attempt `timeout` of the breaker the policy goes through, if any. */
  readonly breakerTimeout?: number;
  /** Whether the app's store shares state across instances (Redis), which `rateLimit.scope: 'fleet'` needs. */
  readonly fleetStore?: boolean;
}

/**
 * Checks a policy's options: every key (unknown ones listed), every value, and the rules
 * between them: the total `timeout` must be above the breaker's per-attempt `timeout` and
 * above the sum of the retry waits (without jitter), and a fleet rate limit needs a fleet store.
 * @throws {InvalidBreakerOptionsError} (scope `policy`) naming the policy and the key.
 */
export function checkPolicyOptions(
  policy: string,
  options: unknown,
  context: PolicyContext = {},
): asserts options is PolicyOptions {
  const site: OptionSite = { scope: 'policy', breaker: policy };
  checkOptions(site, POLICY_OPTIONS, options);
  const fail = (key: string, value: unknown, expected: string): never => {
    throw new InvalidBreakerOptionsError(policy, key, value, expected, 'policy');
  };
  const { timeout, retry, rateLimit } = options;
  if (rateLimit?.scope === 'fleet' && context.fleetStore !== true) {
    fail('rateLimit.scope', 'fleet', "'instance', or a Redis store (store: { type: 'redis' }) for 'fleet'");
  }
  if (timeout === undefined) return;
  const { breakerTimeout } = context;
  if (breakerTimeout !== undefined && timeout <= breakerTimeout) {
    fail(
      'timeout',
      timeout,
      `a total timeout above the breaker's per-attempt timeout (${breakerTimeout} ms)`,
    );
  }
  if (retry !== undefined) {
    const resolved = resolveRetryOptions(retry);
    const waits = totalBackoff(resolved, resolved.attempts);
    if (timeout <= waits) {
      fail(
        'timeout',
        timeout,
        `a total timeout above the sum of the retry delays (${waits} ms without jitter)`,
      );
    }
  }
}

export function resolveRetryOptions(options: RetryOptions): ResolvedRetryOptions {
  const budget = options.budget ?? {};
  return {
    attempts: options.attempts ?? 3,
    delay: options.delay ?? 200,
    maxDelay: options.maxDelay ?? 10_000,
    backoff: options.backoff ?? 'exponential',
    jitter: options.jitter ?? 'full',
    budget:
      budget === false ? false : { ratio: budget.ratio ?? 0.2, minPerSecond: budget.minPerSecond ?? 10 },
  };
}

export function resolveBulkheadOptions(options: BulkheadOptions): ResolvedBulkheadOptions {
  return {
    maxConcurrent: options.maxConcurrent,
    maxQueue: options.maxQueue ?? 0,
    queueTimeout: options.queueTimeout ?? 1_000,
  };
}

export function resolveRateLimitOptions(options: RateLimitOptions): ResolvedRateLimitOptions {
  return {
    limit: options.limit,
    interval: options.interval ?? 1_000,
    burst: options.burst ?? Math.max(1, Math.floor(options.limit)),
    scope: options.scope ?? 'instance',
  };
}
