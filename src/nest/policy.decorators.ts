import type { BulkheadOptions, RateLimitOptions, RetryOptions } from '../core/policies/policy-options';
import {
  methodLabel,
  protectMethod,
  type MethodPolicyOptions,
  type MethodProtection,
  type ResilientOptions,
} from './method-protection';
import * as messages from './resilience.messages';

/**
 * Adds one policy to a method's protection. Whatever the order of the decorators in the
 * source, the call goes fallback → rate limit → bulkhead → timeout → retry → breaker → method.
 */
function policyDecorator<K extends keyof MethodPolicyOptions>(
  decorator: string,
  key: K,
  options: MethodPolicyOptions[K],
): MethodDecorator {
  return (target, method, descriptor) => {
    protectMethod(target, method, descriptor, decorator, (protection: MethodProtection) => {
      const label = methodLabel(protection);
      if (protection.resilient !== undefined) throw new TypeError(messages.RESILIENT_WITH_POLICY(label));
      if (protection.policy?.[key] !== undefined)
        throw new TypeError(messages.DECORATOR_TWICE(decorator, label));
      protection.policy = { ...protection.policy, [key]: options };
    });
  };
}

/**
 * Tries the method again after a failure: `attempts` more times, waiting `delay`, `2×delay`…
 * (capped at `maxDelay`, with full jitter), within a retry budget. With `@CircuitBreaker`,
 * each attempt goes through the breaker. Rejections (open breaker, full bulkhead, rate limit)
 * are never retried. Its state is one per decorated method per app, labelled `Class.method`.
 * @example
 * \@Retry({ attempts: 2 }) \@CircuitBreaker('inventory')
 * async stock(sku: string): Promise<number> { ... }
 * @publicApi
 */
export function Retry(options: RetryOptions = {}): MethodDecorator {
  return policyDecorator('@Retry', 'retry', options);
}

/**
 * Bounds the whole call, retries included, to `ms`: the call's signal (`getCallSignal()`) is
 * aborted and the call fails with `TimeoutExceededError` (HTTP 504).
 * @publicApi
 */
export function Timeout(ms: number): MethodDecorator {
  return policyDecorator('@Timeout', 'timeout', ms);
}

/**
 * Lets at most `maxConcurrent` calls run at once and `maxQueue` wait (up to `queueTimeout`);
 * others fail with `BulkheadFullError` (HTTP 503 with `Retry-After`).
 * @publicApi
 */
export function Bulkhead(options: BulkheadOptions): MethodDecorator {
  return policyDecorator('@Bulkhead', 'bulkhead', options);
}

/**
 * A token bucket: `limit` calls per `interval`, `burst` at once; refused calls fail with
 * `RateLimitedError` (HTTP 429 with `Retry-After`).
 * @publicApi
 */
export function RateLimit(options: RateLimitOptions): MethodDecorator {
  return policyDecorator('@RateLimit', 'rateLimit', options);
}

/**
 * Runs the method through the named policy `name` of the module's `policies` (its breaker,
 * retry, timeout, bulkhead and rate limit), with an optional fallback. A name that is not
 * configured fails the boot. The policy's state is shared by every method using it.
 * @example
 * \@Resilient('payments', { fallback: 'cachedQuote' })
 * async quote(id: string): Promise<Quote> { ... }
 * @publicApi
 */
export function Resilient(name: string, options: ResilientOptions = {}): MethodDecorator {
  return (target, method, descriptor) => {
    protectMethod(target, method, descriptor, '@Resilient', (protection: MethodProtection) => {
      const label = methodLabel(protection);
      if (protection.resilient !== undefined)
        throw new TypeError(messages.DECORATOR_TWICE('@Resilient', label));
      if (protection.policy !== undefined) throw new TypeError(messages.RESILIENT_WITH_POLICY(label));
      protection.resilient = { name, options };
    });
  };
}
