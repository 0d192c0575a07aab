import { defaultIsFailure } from '../default-predicates';
import { Bulkhead } from './bulkhead';
import { HeldSlot } from './held-slot';
import type { PolicyListener } from './policy-events';
import type { PolicyOptions } from './policy-options';
import {
  checkPolicyOptions,
  resolveBulkheadOptions,
  resolveRateLimitOptions,
  resolveRetryOptions,
  type PolicyContext,
} from './policy-option-table';
import { RateLimiter } from './rate-limiter';
import { RetryPolicy, type Attempt } from './retry';
import type { SharedRateLimits } from './shared-rate-limits';
import { systemTimers, type PolicyTimers, type RandomSource } from './timers';
import { TotalTimeout } from './total-timeout';

/** What policies share beyond their options. @publicApi */
export interface PoliciesDeps {
  /** @default the wall clock and Node's timers */
  timers?: PolicyTimers;
  /** @default Math.random */
  random?: RandomSource;
  /** Called for every retry decision and every call a policy refused or timed out. */
  onEvent?: PolicyListener;
  /**
   * Called once when a call finally fails: after its retries, when no fallback served it,
   * with the call's arguments, the error that escapes and how many attempts ran (0 when a
   * rate limit or bulkhead refused it).
   */
  onFinalFailure?: (args: readonly unknown[], error: unknown, attempts: number) => void;
  /** The fleet's token buckets, for `rateLimit.scope: 'fleet'` (which needs them). */
  sharedRateLimits?: SharedRateLimits;
}

/** One call through the policies. @publicApi */
export interface PolicyCall {
  /** The call's arguments, for the rate limiter's `key` and `onFinalFailure`. */
  readonly args?: readonly unknown[];
  /**
   * `this` of the rate limiter's `key`: the object whose method the call runs (a decorated
   * method's instance, as for `@CircuitBreaker`'s key). @default undefined
   */
  readonly instance?: unknown;
  /** Which errors a retry may retry (what `retry.retryOn` does not decide). @default all but HTTP 4xx */
  readonly retryOn?: (error: unknown) => boolean;
  /** Serves an error that escapes every policy, or rethrows it. */
  readonly fallback?: (error: unknown) => unknown;
}

/**
 * A policy's protections in their one order, outermost first: fallback → rate limit →
 * bulkhead → total timeout → retry → the attempt (which goes through a breaker, if any, with
 * its per-attempt timeout). A rate-limited call takes no bulkhead slot, a queued call's wait
 * is not part of its timeout, and each retry is a new attempt through the breaker.
 * State (buckets, slots, the retry budget) lives in this object, one per policy.
 * @publicApi
 */
export class Policies {
  readonly rateLimiter: RateLimiter | undefined;
  readonly bulkhead: Bulkhead | undefined;
  readonly timeout: TotalTimeout | undefined;
  readonly retry: RetryPolicy | undefined;
  private readonly retryOn: ((error: unknown) => boolean) | undefined;
  private readonly rateLimitKey: ((...args: any[]) => string | number) | undefined; // eslint-disable-line @typescript-eslint/no-explicit-any -- the method's arguments
  private readonly onFinalFailure: PoliciesDeps['onFinalFailure'];
  private inFlight = 0;
  private readonly ended = (): void => {
    this.inFlight--;
  };

  /** @throws {InvalidBreakerOptionsError} (scope `policy`) on a bad option. */
  constructor(
    readonly name: string,
    readonly options: PolicyOptions,
    deps: PoliciesDeps = {},
    context?: PolicyContext,
  ) {
    checkPolicyOptions(name, options, context);
    const timers = deps.timers ?? systemTimers;
    const emit = deps.onEvent ?? (() => undefined);
    const { retry, timeout, bulkhead, rateLimit } = options;
    const shared = rateLimit?.scope === 'fleet' ? deps.sharedRateLimits : undefined;
    this.rateLimiter =
      rateLimit && new RateLimiter(name, resolveRateLimitOptions(rateLimit), timers, emit, shared);
    this.rateLimitKey = rateLimit?.key;
    this.bulkhead = bulkhead && new Bulkhead(name, resolveBulkheadOptions(bulkhead), timers, emit);
    this.timeout = timeout === undefined ? undefined : new TotalTimeout(name, timeout, timers, emit);
    this.retry =
      retry && new RetryPolicy(name, resolveRetryOptions(retry), timers, deps.random ?? Math.random, emit);
    this.retryOn = retry?.retryOn;
    this.onFinalFailure = deps.onFinalFailure;
  }

  /**
   * Calls running through these policies now, from the rate limit to the fallback: waiting in
   * a bulkhead's queue or a retry's backoff too (a shutdown waits for them).
   */
  get running(): number {
    return this.inFlight;
  }

  /**
   * Its app closed, shutdown done waiting: no call retries or waits for a bulkhead slot any
   * more, and the timer of calls still running holds the process open no longer.
   */
  close(): void {
    this.retry?.close();
    this.bulkhead?.close();
    this.timeout?.detach();
  }

  /**
   * Runs `attempt` (as many times as the retry allows) through every policy.
   * @throws (rejects with) {InvalidRateLimitKeyError} when the rate limit's `key` gives no key
   * (`undefined` included): before any policy, no fallback serving it.
   */
  execute<T>(attempt: Attempt<T>, call: PolicyCall = {}): Promise<T> {
    let key = '';
    const { rateLimiter, rateLimitKey } = this;
    if (rateLimiter !== undefined && rateLimitKey !== undefined) {
      try {
        key = rateLimiter.keyOf(rateLimitKey.call(call.instance, ...(call.args ?? [])));
      } catch (error) {
        // A bad key is the caller's fault, as a bad breaker key: no fallback, no dead letter.
        return Promise.reject(error);
      }
    }
    this.inFlight++;
    const result = this.executeCounted(attempt, call, key);
    result.then(this.ended, this.ended);
    return result;
  }

  private executeCounted<T>(attempt: Attempt<T>, call: PolicyCall, key: string): Promise<T> {
    const { onFinalFailure } = this;
    if (onFinalFailure === undefined) return this.runWithFallback(attempt, call, key);
    // Attempts are counted only for a policy that reports final failures: the others pay nothing.
    let attempts = 0;
    const counted: Attempt<T> = (signal, hold) => {
      attempts++;
      return attempt(signal, hold);
    };
    return this.runWithFallback(counted, call, key).catch((error: unknown) => {
      onFinalFailure(call.args ?? [], error, attempts);
      throw error;
    });
  }

  private runWithFallback<T>(attempt: Attempt<T>, call: PolicyCall, key: string): Promise<T> {
    const result = this.run(attempt, call, key);
    const { fallback } = call;
    return (fallback === undefined ? result : result.catch(fallback)) as Promise<T>;
  }

  /** `key`: the call's rate-limit bucket (`''` for a policy without `rateLimit.key`). */
  private run<T>(attempt: Attempt<T>, call: PolicyCall, key: string): Promise<T> {
    const { bulkhead, rateLimiter } = this;
    // A slot is held until the attempts and their work have ended, not when the total timeout
    // or a breaker's fails the caller: a method that ignores its signal still runs, and still
    // counts against maxConcurrent.
    const guarded =
      bulkhead === undefined
        ? () => this.retriedWithin(attempt, call)
        : () =>
            bulkhead.execute((free) => {
              const slot = new HeldSlot(free);
              return this.retriedWithin(slot.attempts(attempt), call, slot.end, slot.idle);
            }, true);
    try {
      if (rateLimiter !== undefined) {
        const acquired = rateLimiter.acquire(key);
        if (acquired !== undefined) return acquired.then(() => guarded());
      }
      return guarded();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * The attempts, retried, within the total timeout; `ended` is called once they have settled
   * (after the timeout, when one ignored its signal). Under a bulkhead a retry is made only when
   * `mayRetry` says the work of the attempts before has ended.
   */
  private retriedWithin<T>(
    attempt: Attempt<T>,
    call: PolicyCall,
    ended?: () => void,
    mayRetry?: () => boolean,
  ): Promise<T> {
    const { retry, timeout } = this;
    const retryOn = this.retryOn ?? call.retryOn ?? defaultIsFailure;
    const retried: Attempt<T> =
      retry === undefined ? attempt : (signal) => retry.execute(attempt, retryOn, signal, mayRetry);
    if (timeout !== undefined) return timeout.execute(retried, ended);
    const result = retried(undefined);
    if (ended !== undefined) result.then(ended, ended);
    return result;
  }
}
