import type { BreakerStore } from './breaker-store';
import { MemoryStore } from './memory.store';
import { RedisStore } from './redis/redis.store';
import { SqliteStore } from './sqlite.store';
import type { StoreLogger } from './store-logger';
import { checkStoreOptions } from './store-option-table';
import type { StoreOptions } from './store-options';

/**
 * Builds the store that `options.store` names (memory when absent), or returns the object
 * implementing `BreakerStore` given instead. Only the sqlite store loads a SQLite driver, only
 * the redis store with `url` loads `redis`.
 * @throws {InvalidBreakerOptionsError} when the options are bad, naming the option and what was expected.
 */
export function createBreakerStore(
  options: StoreOptions | BreakerStore | undefined,
  logger: StoreLogger,
): BreakerStore {
  if (options === undefined) return new MemoryStore();
  if (isBreakerStore(options)) return options;
  checkStoreOptions(options);
  if (options.type === 'sqlite') return new SqliteStore(options, logger);
  if (options.type === 'redis') return new RedisStore(options, logger);
  return new MemoryStore();
}

/** An object implementing the store port, rather than options naming a built-in store. */
export function isBreakerStore(value: unknown): value is BreakerStore {
  const v = value as Partial<Record<keyof BreakerStore, unknown>> | null;
  return (
    typeof v === 'object' && v !== null && typeof v.attach === 'function' && typeof v.status === 'function'
  );
}
