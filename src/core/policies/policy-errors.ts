import { isResilienceError, ResilienceError } from '../errors';
import * as messages from '../messages';

/**
 * The call took longer than its policy's total `timeout` (retries included); the call's
 * signal was aborted.
 * @publicApi
 */
export class TimeoutExceededError extends ResilienceError {
  readonly code = 'TIMEOUT' as const;
  override readonly name = 'TimeoutExceededError';

  constructor(
    /** The policy whose timeout elapsed (`Class.method` for a decorator's). */
    readonly policy: string,
    readonly timeoutMs: number,
  ) {
    super(messages.TIMEOUT_EXCEEDED(policy, timeoutMs));
  }
}

/** How long a caller refused by a bulkhead should wait before trying again. */
export const BULKHEAD_RETRY_AFTER_MS = 1_000;

/**
 * The bulkhead had no free slot and no room in its queue, or the call waited in its queue
 * longer than `queueTimeout`. A rejection: never retried, never counted by a breaker.
 * @publicApi
 */
export class BulkheadFullError extends ResilienceError {
  readonly code = 'BULKHEAD_FULL' as const;
  override readonly name = 'BulkheadFullError';
  readonly retryAfterMs = BULKHEAD_RETRY_AFTER_MS;

  constructor(
    readonly policy: string,
    readonly maxConcurrent: number,
    readonly maxQueue: number,
    /** True when the call was queued and its `queueTimeout` elapsed. */
    readonly queued = false,
  ) {
    super(messages.BULKHEAD_FULL(policy, maxConcurrent, maxQueue, queued));
  }
}

/**
 * The policy's token bucket had no token for the call. A rejection: never retried.
 * @publicApi
 */
export class RateLimitedError extends ResilienceError {
  readonly code = 'RATE_LIMITED' as const;
  override readonly name = 'RateLimitedError';

  constructor(
    readonly policy: string,
    /** How long until the bucket holds a token again. */
    readonly retryAfterMs: number,
  ) {
    super(messages.RATE_LIMITED(policy, retryAfterMs));
  }
}

/**
 * Whether `error` is a rejection: a call some protection refused to run (an open breaker, a
 * full bulkhead, a rate limit, load shedding). Rejections are never retried, and a breaker
 * never sees them as failures.
 */
export function isRejection(error: unknown): boolean {
  return (
    isResilienceError(error, 'BREAKER_OPEN') ||
    isResilienceError(error, 'BULKHEAD_FULL') ||
    isResilienceError(error, 'RATE_LIMITED') ||
    isResilienceError(error, 'LOAD_SHED')
  );
}

/** @publicApi */
export const isTimeoutExceededError = (error: unknown): error is TimeoutExceededError =>
  isResilienceError(error, 'TIMEOUT');

/** @publicApi */
export const isBulkheadFullError = (error: unknown): error is BulkheadFullError =>
  isResilienceError(error, 'BULKHEAD_FULL');

/** @publicApi */
export const isRateLimitedError = (error: unknown): error is RateLimitedError =>
  isResilienceError(error, 'RATE_LIMITED');
