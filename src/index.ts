// Core: the framework-free engine.
export { Breaker, type BreakerDeps, type ResetOptions } from './core/breaker';
export { BreakerRegistry, type BreakerRegistryOptions } from './core/registry';
export { CircuitState } from './core/circuit-state';
export type { Clock } from './core/clock';
export type { BreakerOptions, PresetName, WindowOptions, ResolvedBreakerOptions } from './core/breaker-options';
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
