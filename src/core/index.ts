// The framework-free engine: `nest-resilience/core`, usable in any Node script without Nest installed.
export { Breaker, type BreakerDeps, type ResetOptions } from './breaker';
export type {
  BreakerCoordinator,
  LocalTransition,
  RemoteTransition,
  TrialLease,
  TrialOutcome,
} from './breaker-coordinator';
export { BreakerRegistry, type BreakerRegistryOptions } from './registry';
export { KEY_SEPARATOR, MAX_KEY_LENGTH, type BreakerKey, type BreakerKeyInput } from './breaker-key';
export { CircuitState } from './circuit-state';
export type { Clock } from './clock';
export type { BreakerOptions, PresetName, WindowOptions, ResolvedBreakerOptions } from './breaker-options';
export { PRESETS } from './presets';
export type { BreakerSnapshot, BreakerStateRecord, WindowRecord } from './breaker-snapshot';
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
} from './breaker-events';
export { MemoryAuditLog, type AuditEntry, type AuditLog } from './audit-log';
export {
  ResilienceError,
  BreakerOpenError,
  BreakerTimeoutError,
  ResetCooldownError,
  InvalidBreakerOptionsError,
  InvalidBreakerKeyError,
  TooManyBreakersError,
  isResilienceError,
  isBreakerOpenError,
  isBreakerTimeoutError,
  type ResilienceErrorCode,
  type OptionScope,
} from './errors';
export { BreakerGroup, type BreakerGroupOptions } from './breaker-group';
