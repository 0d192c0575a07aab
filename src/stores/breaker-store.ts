import type { AuditLog } from '../core/audit-log';
import type { BreakerSnapshot } from '../core/breaker-snapshot';
import type { DeadLetterStore } from '../core/dead-letter-store';
import type { SharedRateLimits } from '../core/policies/shared-rate-limits';
import type { BreakerRegistry } from '../core/registry';
import type { StoreStatus } from './store-status';

/** Every live instance of a fleet and its breakers, as a shared store's heartbeats report them. @publicApi */
export interface FleetView {
  instances: Array<{ instance: string; seenAt: number; breakers: BreakerSnapshot[] }>;
}

/** What a store counts of itself, for the metrics. @publicApi */
export interface StoreStats {
  /** Whether it works now. */
  up: boolean;
  /** Failed or timed-out commands since it started, by operation. */
  errors: Readonly<Record<string, number>>;
  /** Live instances sharing it, for a store shared by a fleet. */
  instances?: number;
}

/**
 * Where breaker state lives: the port every store implements (memory, the default; sqlite;
 * redis), and its injection token of the same name. An app may pass its own object
 * implementing it as `options.store`, and inject the module's store with `@Inject(BreakerStore)`.
 * @publicApi
 */
export interface BreakerStore {
  /** The audit log this store keeps; the registry is built with it. */
  readonly auditLog: AuditLog;
  /** Where the dead letters of named policies are kept; without it, the module keeps them in memory. */
  readonly deadLetters?: DeadLetterStore;
  /** Token buckets every instance shares, for `rateLimit.scope: 'fleet'` (which needs them). */
  readonly rateLimits?: SharedRateLimits;
  /**
   * Called once, right after the registry is built and before any call: restores every
   * breaker it knows (and each one added later) and subscribes to their changes.
   */
  attach(registry: BreakerRegistry): void | Promise<void>;
  /** What it is, and whether it works now (the health details' `store` entry). */
  status(): StoreStatus;
  /** Writes whatever is pending. */
  flush(): Promise<void>;
  /** Flushes, stops its timers and releases the file or connection. */
  close(): Promise<void>;
  /** What it counts of itself (`circuit_breaker_store_*` metrics); absent: nothing to report. */
  stats?(): StoreStats;
  /** A store shared by a fleet: what every live instance reports. */
  fleet?(): Promise<FleetView>;
}

/**
 * Injection token of the store the module uses.
 * @publicApi
 */
export const BreakerStore = Symbol('BreakerStore');
