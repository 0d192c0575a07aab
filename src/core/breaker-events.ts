import type { CircuitState } from './circuit-state';

/** Why a call was rejected (`load_shed`: by the breaker's `loadShed`, a call its state would let through). @publicApi */
export type RejectionReason = 'open' | 'half_open_full' | 'forced_open' | 'load_shed';

/** A manual action on a breaker. @publicApi */
export type ControlAction = 'trip' | 'reset' | 'disable';

/** @publicApi */
export interface StateChangeEvent {
  breaker: string;
  from: CircuitState;
  to: CircuitState;
  /** Why, e.g. `failure_threshold`, `failure_rate`, `slow_call_rate`, `open_duration_elapsed`, `trial_failed`, `half_open_max_wait`, `trials_succeeded`, or the reason given to a manual action. */
  reason: string;
  /** True when caused by `trip()`, `reset()` or `disable()`. */
  manual: boolean;
  /** Who did it, for manual actions. */
  actor: string | null;
  /** True when decided elsewhere (by another instance, through a shared store) and applied here. */
  remote: boolean;
  /** Failure rate in the window once the change is made: 0 on closing, as the window starts afresh. */
  failureRate: number;
  at: number;
}

/** A manual action, emitted even when it does not change the state. @publicApi */
export interface ControlEvent {
  breaker: string;
  action: ControlAction;
  from: CircuitState;
  to: CircuitState;
  reason: string;
  actor: string | null;
  at: number;
}

/** @publicApi */
export interface CallEvent {
  breaker: string;
  durationMs: number;
}

/** @publicApi */
export interface FailureEvent extends CallEvent {
  error: unknown;
  /** The weight `failureWeight` gave it. */
  weight: number;
}

/** @publicApi */
export interface IgnoredEvent extends CallEvent {
  error: unknown;
}

/** @publicApi */
export interface TimeoutEvent extends CallEvent {
  timeoutMs: number;
}

/** @publicApi */
export interface RejectedEvent {
  breaker: string;
  reason: RejectionReason;
}

/**
 * Events a breaker emits. A timed-out call emits `timeout` only, not `failure`.
 * Listeners of `stateChange` and `control` may return a Promise: a manual action settles
 * once those promises have (that is how a store confirms it has the new state).
 * @publicApi
 */
export interface BreakerEventMap {
  stateChange: StateChangeEvent;
  control: ControlEvent;
  success: CallEvent;
  failure: FailureEvent;
  ignored: IgnoredEvent;
  timeout: TimeoutEvent;
  rejected: RejectedEvent;
}

/** @publicApi */
export type BreakerEventName = keyof BreakerEventMap;

/** @publicApi */
export type BreakerListener<E extends BreakerEventName> = (event: BreakerEventMap[E]) => unknown;
