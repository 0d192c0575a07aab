import type { BreakerStore } from './breaker-store';
import { MemoryStore } from './memory.store';
import type { StoreLogger } from './store-logger';
import type { StoreOptions } from './store-options';

/** Builds the store that `options.store` names. */
export function createBreakerStore(options: StoreOptions | undefined, _logger: StoreLogger): BreakerStore {
  switch (options?.type ?? 'memory') {
    case 'memory':
      return new MemoryStore();
    default:
      throw new Error(`store.type: expected 'memory' or 'sqlite'`);
  }
}
