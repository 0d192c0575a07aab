import type { SharedBucket, SharedRateLimits } from '../../core/policies/shared-rate-limits';
import { escapeReversibly } from '../../core/printable';
import type { LuaScript } from './lua-script';
import { RATE_LIMIT_SCRIPT } from './redis-scripts';

/** How the rate limits reach Redis: through the store, which bounds and counts every command. */
export interface RateLimitCommands {
  /** Runs a script by its SHA1 (its body when Redis lacks it); its `expired` answer is counted. */
  script(operation: string, script: LuaScript, keys: string[], args: string[]): Promise<unknown>;
  /** Whether Redis answered the last command: while it does not, no call waits on it. */
  isUp(): boolean;
  /** The key of a store-relative name (the prefix added). */
  key(suffix: string): string;
  /** The deadline of a script sent now, on Redis' clock; throws while that clock is unknown. */
  deadline(): string;
}

/**
 * The fleet's token buckets (`rateLimit.scope: 'fleet'`): one Lua script per call (by its SHA1),
 * atomic and on Redis' clock, so every instance takes from the same bucket. While Redis is down (or
 * slower than `commandTimeout`) it answers `undefined` and the instance's bucket decides; it
 * asks Redis again once the store's heartbeat finds it back. A take carries a deadline: one that
 * reaches Redis after its caller stopped waiting (a stalled link) takes nothing.
 */
export class RedisRateLimits implements SharedRateLimits {
  constructor(private readonly redis: RateLimitCommands) {}

  async take({ policy, key, burst, perMs }: SharedBucket): Promise<number | undefined> {
    if (!this.redis.isUp()) return undefined;
    try {
      const wait = await this.redis.script(
        'rate_limit',
        RATE_LIMIT_SCRIPT,
        // The policy's length first: a key (from a request, say) cannot spell another policy's bucket.
        // The key escaped: sent as UTF-8, every lone surrogate would be U+FFFD, one bucket for all.
        [this.redis.key(`ratelimit:${policy.length}:${policy}:${escapeReversibly(key)}`)],
        [String(burst), String(perMs), this.redis.deadline()],
      );
      return wait === 'expired' ? undefined : Number(wait);
    } catch {
      return undefined;
    }
  }
}
