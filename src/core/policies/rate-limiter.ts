import { EXPECTED_KEY, keyOf } from '../breaker-key';
import { InvalidRateLimitKeyError } from '../errors';
import type { PolicyListener } from './policy-events';
import { RateLimitedError } from './policy-errors';
import type { SharedRateLimits } from './shared-rate-limits';
import type { PolicyTimers } from './timers';
import { TokenBucket } from './token-bucket';

export interface ResolvedRateLimitOptions {
  readonly limit: number;
  readonly interval: number;
  readonly burst: number;
  readonly scope: 'instance' | 'fleet';
}

/** Most keys with a bucket of their own; past it the least recently used bucket is dropped (it was full or nearly). */
export const MAX_RATE_LIMIT_KEYS = 10_000;
/** The span over which the share of refused calls is reported, in ms. */
const REFUSAL_WINDOW_MS = 10_000;

/**
 * A token bucket per key (one when calls carry no key): calls without a token fail at once
 * with `RateLimitedError`, whose `retryAfterMs` is when a token is due. With `fleet` (scope
 * `fleet`), the fleet's bucket decides, and this instance's own buckets only while it cannot.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();
  /** The bucket of calls without a key: most policies have only this one, kept out of the Map. */
  private shared: TokenBucket | undefined;
  private readonly perMs: number;
  private windowStart = -Infinity;
  private allowed = 0;
  private refused = 0;
  private lastShare = 0;

  constructor(
    readonly policy: string,
    readonly options: ResolvedRateLimitOptions,
    private readonly timers: PolicyTimers,
    private readonly emit: PolicyListener,
    private readonly fleet?: SharedRateLimits,
  ) {
    this.perMs = options.limit / options.interval;
  }

  /**
   * The bucket key `value` (what the `key` function returned for a call) stands for: keys come
   * from requests, so they follow the rule of per-key breakers' keys: a bucket is kept only for
   * a key of at most `MAX_KEY_LENGTH` characters, and no two keys share one (a number is its
   * decimal string).
   * @throws {InvalidRateLimitKeyError} naming the policy, for anything else (`undefined`
   * included), reported first as an `invalid_key` event: refused keys are seen, not only answered.
   */
  keyOf(value: unknown): string {
    const key = keyOf(value);
    if (key !== undefined) return key;
    const error = new InvalidRateLimitKeyError(this.policy, value, EXPECTED_KEY);
    this.emit({ kind: 'invalid_key', policy: this.policy, error });
    throw error;
  }

  /**
   * Takes a token for a call with `key`; throws `RateLimitedError` when there is none. A fleet
   * limit answers with a promise (rejected with it), an instance one decides synchronously.
   */
  acquire(key = ''): void | Promise<void> {
    if (this.fleet !== undefined) return this.acquireFromFleet(this.fleet, key);
    const now = this.timers.now();
    this.settle(now, this.bucketFor(key, now).take(now));
  }

  private async acquireFromFleet(fleet: SharedRateLimits, key: string): Promise<void> {
    const wait = await fleet.take({ policy: this.policy, key, burst: this.options.burst, perMs: this.perMs });
    const now = this.timers.now();
    this.settle(now, wait ?? this.bucketFor(key, now).take(now));
  }

  private settle(now: number, wait: number): void {
    this.count(now, wait === 0);
    if (wait === 0) return;
    this.emit({ kind: 'rejected', policy: this.policy, reason: 'rate_limited' });
    throw new RateLimitedError(this.policy, wait);
  }

  /** The share of calls refused over the last full 10 s (or the current span while there is none). */
  refusedShare(): number {
    this.count(this.timers.now());
    const total = this.allowed + this.refused;
    return total === 0 ? this.lastShare : this.refused / total;
  }

  private bucketFor(key: string, now: number): TokenBucket {
    if (key === '') return (this.shared ??= new TokenBucket(this.options.burst, this.perMs, now));
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      if (this.buckets.size >= MAX_RATE_LIMIT_KEYS)
        this.buckets.delete(this.buckets.keys().next().value as string);
      bucket = new TokenBucket(this.options.burst, this.perMs, now);
    } else {
      // Re-inserted, so the Map's order is the order of last use.
      this.buckets.delete(key);
    }
    this.buckets.set(key, bucket);
    return bucket;
  }

  private count(now: number, allowed?: boolean): void {
    if (now - this.windowStart >= REFUSAL_WINDOW_MS) {
      const total = this.allowed + this.refused;
      // The span that just ended counts only while it is the one before the current span.
      const recent = now - this.windowStart < 2 * REFUSAL_WINDOW_MS;
      this.lastShare = total === 0 || !recent ? 0 : this.refused / total;
      this.windowStart = now;
      this.allowed = 0;
      this.refused = 0;
    }
    if (allowed === true) this.allowed++;
    else if (allowed === false) this.refused++;
  }
}
