// The framework-free engine: `nest-resilience/core`, usable in any Node script without Nest installed.
export { Breaker, type BreakerDeps, type ResetOptions } from './breaker';
export type {
  BreakerCoordinator,
  LocalTransition,
  RemoteTransition,
  TrialLease,
  TrialOutcome,
  TrialRefusal,
} from './breaker-coordinator';
export { BreakerRegistry, type BreakerRegistryOptions } from './registry';
export { KEY_SEPARATOR, MAX_KEY_LENGTH, type BreakerKey, type BreakerKeyInput } from './breaker-key';
export { CircuitState } from './circuit-state';
export type { Clock } from './clock';
export type {
  BreakerOptions,
  LoadShedOptions,
  PresetName,
  WindowOptions,
  ResolvedBreakerOptions,
} from './breaker-options';
export type { LoadSampler } from './load-sampler';
export { EventLoopSampler } from './event-loop-sampler';
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
  MemoryDeadLetters,
  type DeadLetter,
  type DeadLetterDropListener,
  type DeadLetterError,
  type DeadLetterStore,
  type NewDeadLetter,
} from './dead-letter-store';
export {
  ResilienceError,
  BreakerOpenError,
  BreakerTimeoutError,
  ResetCooldownError,
  LoadShedError,
  InvalidBreakerOptionsError,
  InvalidBreakerKeyError,
  InvalidRateLimitKeyError,
  TooManyBreakersError,
  isResilienceError,
  isBreakerOpenError,
  isBreakerTimeoutError,
  isLoadShedError,
  type ResilienceErrorCode,
  type OptionScope,
} from './errors';
export { BreakerGroup, type BreakerGroupOptions } from './breaker-group';
export { Policies, type PoliciesDeps, type PolicyCall } from './policies/policies';
export type {
  PolicyOptions,
  RetryOptions,
  RetryBudgetOptions,
  BulkheadOptions,
  RateLimitOptions,
} from './policies/policy-options';
export type {
  PolicyEvent,
  PolicyListener,
  PolicyRejectionReason,
  RetryOutcome,
} from './policies/policy-events';
export type { PolicyTimers, RandomSource } from './policies/timers';
export type { SharedBucket, SharedRateLimits } from './policies/shared-rate-limits';
export { CallSignal } from './policies/call-signal';
export {
  TimeoutExceededError,
  BulkheadFullError,
  RateLimitedError,
  isTimeoutExceededError,
  isBulkheadFullError,
  isRateLimitedError,
} from './policies/policy-errors';
