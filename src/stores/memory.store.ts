import { MemoryAuditLog } from '../core/audit-log';
import { MemoryDeadLetters } from '../core/dead-letter-store';
import type { BreakerStore } from './breaker-store';
import type { StoreStatus } from './store-status';

/**
 * The default store: state lives in the breakers themselves, the audit log in a bounded
 * ring in memory, dead letters too (the newest 1,000). Nothing survives a restart.
 * @publicApi
 */
export class MemoryStore implements BreakerStore {
  readonly auditLog = new MemoryAuditLog();
  readonly deadLetters = new MemoryDeadLetters();

  attach(): void {}

  status(): StoreStatus {
    return { type: 'memory', status: 'up' };
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {}
}
