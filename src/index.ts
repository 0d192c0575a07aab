// Core: the framework-free engine.
export { Breaker, type BreakerDeps, type ResetOptions } from './core/breaker';
export { BreakerRegistry, type BreakerRegistryOptions } from './core/registry';
export { CircuitState } from './core/circuit-state';
export type { Clock } from './core/clock';
export type {
  BreakerOptions,
  PresetName,
  WindowOptions,
  ResolvedBreakerOptions,
} from './core/breaker-options';
export { PRESETS } from './core/presets';
export type { BreakerSnapshot, BreakerStateRecord, WindowRecord } from './core/breaker-snapshot';
export type {
  BreakerEventMap,
  BreakerEventName,
  BreakerListener,
  CallEvent,
  ControlAction,
  ControlEvent,
  FailureEvent,
  IgnoredEvent,
  RejectedEvent,
  RejectionReason,
  StateChangeEvent,
  TimeoutEvent,
} from './core/breaker-events';
export { MemoryAuditLog, type AuditEntry, type AuditLog } from './core/audit-log';
export {
  ResilienceError,
  BreakerOpenError,
  BreakerTimeoutError,
  ResetCooldownError,
  InvalidBreakerOptionsError,
  isResilienceError,
  isBreakerOpenError,
  isBreakerTimeoutError,
  type ResilienceErrorCode,
} from './core/errors';

// Stores.
export type { BreakerStore } from './stores/breaker-store';
export type { StoreOptions } from './stores/store-options';
export type { StoreLogger } from './stores/store-logger';
export { createBreakerStore } from './stores/create-store';
export { MemoryStore } from './stores/memory.store';
export { SqliteStore, type SqliteStoreOptions } from './stores/sqlite.store';

// Nest integration.
export { ResilienceModule } from './nest/resilience.module';
export type {
  ResilienceModuleExtras,
  ResilienceOptionsFactory,
  ResilienceModuleRootOptions,
  ResilienceModuleAsyncOptions,
} from './nest/resilience.module-definition';
export type {
  ResilienceModuleOptions,
  MetricsOptions,
  AdminOptions,
} from './nest/resilience-options.interface';
export { RESILIENCE_OPTIONS } from './nest/resilience.constants';
export { CircuitBreaker, type CircuitBreakerOptions } from './nest/circuit-breaker.decorator';
export { CircuitBreakerInterceptor } from './nest/circuit-breaker.interceptor';
export { BreakerOpenFilter, type BreakerOpenResponseBody } from './nest/breaker-open.filter';
export { BreakerTimeoutFilter, type BreakerTimeoutResponseBody } from './nest/breaker-timeout.filter';
export { getBreakerSignal } from './nest/breaker-call';
export { createAdminController } from './nest/admin/resilience-admin.controller';
export {
  BREAKER_METRICS,
  CALL_DURATION_BUCKETS,
  type CallOutcome,
  type BreakerMetricDefinition,
} from './nest/metric-names';
