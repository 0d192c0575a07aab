import type { BreakerStore } from './breaker-store';
import { MemoryStore } from './memory.store';
import { SqliteStore } from './sqlite.store';
import type { StoreLogger } from './store-logger';
import { checkStoreOptions } from './store-option-table';
import type { StoreOptions } from './store-options';

/**
 * Builds the store that `options.store` names (memory when absent). Only the sqlite store
 * loads a SQLite driver.
 * @throws {InvalidBreakerOptionsError} when the options are bad, naming the option and what was expected.
 */
export function createBreakerStore(options: StoreOptions | undefined, logger: StoreLogger): BreakerStore {
  if (options === undefined) return new MemoryStore();
  checkStoreOptions(options);
  return options.type === 'sqlite' ? new SqliteStore(options, logger) : new MemoryStore();
}
