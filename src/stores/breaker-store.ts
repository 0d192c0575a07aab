import type { AuditLog } from '../core/audit-log';
import type { DeadLetterStore } from '../core/dead-letter-store';
import type { BreakerRegistry } from '../core/registry';
import type { StoreStatus } from './store-status';

/**
 * Where breaker state lives: the port every store implements (the memory store is the default).
 * @publicApi
 */
export interface BreakerStore {
  /** The audit log this store keeps; the registry is built with it. */
  readonly auditLog: AuditLog;
  /** Where the dead letters of named policies are kept; without it, the module keeps them in memory. */
  readonly deadLetters?: DeadLetterStore;
  /**
   * Called once, right after the registry is built and before any call: restores every
   * breaker it knows (and each one added later) and subscribes to their changes.
   */
  attach(registry: BreakerRegistry): void;
  /** What it is, and whether it works now (the health details' `store` entry). */
  status(): StoreStatus;
  /** Writes whatever is pending. */
  flush(): Promise<void>;
  /** Flushes, stops its timers and releases the file or connection. */
  close(): Promise<void>;
}
