/* eslint-disable @typescript-eslint/no-explicit-any -- key functions take the method's arguments */

/**
 * Options of `@Retry` and of a named policy's `retry`.
 * @publicApi
 */
export interface RetryOptions {
  /** Tries after the first. @default 3 */
  attempts?: number;
  /** The first wait, in ms; exponential backoff doubles it each time. @default 200 */
  delay?: number;
  /** The longest wait, in ms (before jitter); an error asking to wait longer (`retryAfterMs`) is not retried. @default 10_000 */
  maxDelay?: number;
  /** @default 'exponential' */
  backoff?: 'exponential' | 'constant';
  /** `full`: each wait is random in [0, computed delay]; `none`: exactly the computed delay. @default 'full' */
  jitter?: 'full' | 'none';
  /** Which errors are retried. @default the errors the breaker counts as failures (all but HTTP 4xx) */
  retryOn?: (error: unknown) => boolean;
  /**
   * Over the last 10 s, retries may not exceed `ratio` × first tries + `minPerSecond` × 10;
   * past it the error is thrown at once. `false`: no budget.
   * @default { ratio: 0.2, minPerSecond: 10 }
   */
  budget?: RetryBudgetOptions | false;
}

/** @publicApi */
export interface RetryBudgetOptions {
  /** Retries allowed per first try. @default 0.2 */
  ratio?: number;
  /** Retries allowed per second whatever the traffic. @default 10 */
  minPerSecond?: number;
}

/**
 * Options of `@Bulkhead` and of a named policy's `bulkhead`.
 * @publicApi
 */
export interface BulkheadOptions {
  /** Calls running at once. Required. */
  maxConcurrent: number;
  /** Calls waiting for a slot; beyond, calls fail with `BulkheadFullError`. @default 0 */
  maxQueue?: number;
  /** The longest a call waits in the queue, in ms. @default 1_000 */
  queueTimeout?: number;
}

/**
 * Options of `@RateLimit` and of a named policy's `rateLimit`: a token bucket holding `burst`
 * tokens, refilled continuously with `limit` tokens per `interval`.
 * @publicApi
 */
export interface RateLimitOptions {
  /** Calls per `interval`. Required. */
  limit: number;
  /** In ms. @default 1_000 */
  interval?: number;
  /** Tokens the bucket holds: calls allowed at once after a quiet spell. @default limit */
  burst?: number;
  /**
   * `instance`: one bucket per key on each instance; `fleet`: one bucket per key shared by
   * every instance through the Redis store (requires `store: { type: 'redis' }`).
   * @default 'instance'
   */
  scope?: 'instance' | 'fleet';
  /**
   * One bucket per key, from the call's arguments (`this` is the method's instance). A key is a
   * string or a number of at most 256 characters (as per-key breakers' are): anything else,
   * `undefined` included, fails the call with `InvalidRateLimitKeyError` (HTTP 400).
   * @default one bucket
   */
  key?: (...args: any[]) => string | number;
}

/**
 * A named policy in the module's `policies`, applied with `@Resilient(name)`. Policies are
 * never created from `defaults`: every name must be configured.
 * @publicApi
 */
export interface PolicyOptions {
  /** The breaker each attempt goes through (its `timeout` is per attempt). @default none */
  breaker?: string;
  retry?: RetryOptions;
  /** Total time for the call, retries included, in ms. @default none */
  timeout?: number;
  bulkhead?: BulkheadOptions;
  rateLimit?: RateLimitOptions;
  /** Keep each call that finally fails (no fallback served it) as a dead letter. @default false */
  deadLetter?: boolean;
}
