import { MemoryAuditLog } from '../core/audit-log';
import type { BreakerStore } from './breaker-store';

/**
 * The default store: state lives in the breakers themselves, the audit log in a bounded
 * ring in memory. Nothing survives a restart.
 * @publicApi
 */
export class MemoryStore implements BreakerStore {
  readonly auditLog = new MemoryAuditLog();

  attach(): void {}

  async flush(): Promise<void> {}

  async close(): Promise<void> {}
}
