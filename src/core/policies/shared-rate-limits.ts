/** One token bucket of a fleet-wide rate limit: a policy's (per key, when calls carry one). @publicApi */
export interface SharedBucket {
  readonly policy: string;
  /** The rate-limit key of the call; `''` for calls without one. */
  readonly key: string;
  /** Tokens the bucket holds when full (`rateLimit.burst`). */
  readonly burst: number;
  /** Tokens refilled per ms (`limit / interval`). */
  readonly perMs: number;
}

/**
 * Token buckets shared by every instance of a fleet, for `rateLimit.scope: 'fleet'`: the port a
 * store shared by the fleet implements (the Redis store does). The refill and burst are the
 * instance bucket's, measured on the shared clock.
 * @publicApi
 */
export interface SharedRateLimits {
  /**
   * Takes a token: resolves with 0 when taken, else the ms until one is due (nothing taken),
   * or `undefined` when it cannot decide now (then the instance's own bucket decides). Never
   * rejects, and answers within the store's bounded wait.
   */
  take(bucket: SharedBucket): Promise<number | undefined>;
}
