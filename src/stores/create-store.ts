import type { BreakerStore } from './breaker-store';
import { MemoryStore } from './memory.store';
import { SqliteStore } from './sqlite.store';
import type { StoreLogger } from './store-logger';
import * as messages from './store-messages';
import type { StoreOptions } from './store-options';

/**
 * Builds the store that `options.store` names (memory when absent). Only the sqlite store
 * loads a SQLite driver.
 * @throws when the options are bad, naming the option and what was expected.
 */
export function createBreakerStore(options: StoreOptions | undefined, logger: StoreLogger): BreakerStore {
  if (options === undefined) return new MemoryStore();
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new Error(messages.INVALID_STORE_OPTION('store', options, "an object such as { type: 'memory' }"));
  }
  switch (options.type) {
    case 'memory':
      return new MemoryStore();
    case 'sqlite':
      return new SqliteStore(options, logger);
    default:
      throw new Error(
        messages.INVALID_STORE_OPTION(
          'store.type',
          (options as { type: unknown }).type,
          "'memory' or 'sqlite'",
        ),
      );
  }
}
