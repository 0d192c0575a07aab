import type { BreakerOptions, ResolvedBreakerOptions } from './breaker-options';
import type {
  BreakerEventMap,
  BreakerEventName,
  BreakerListener,
  ControlAction,
  RejectionReason,
} from './breaker-events';
import type { BreakerSnapshot, BreakerStateRecord } from './breaker-snapshot';
import {
  BreakerStateBase,
  ClosedState,
  DisabledState,
  ForcedOpenState,
  HalfOpenState,
  OpenState,
  type StateHost,
} from './breaker-states';
import { CircuitState } from './circuit-state';
import { systemClock, type Clock } from './clock';
import { CountWindow } from './count-window';
import { BreakerOpenError, BreakerTimeoutError, ResetCooldownError } from './errors';
import { EventEmitter, type ListenerErrorHandler } from './event-emitter';
import { resolveBreakerOptions } from './resolve-options';
import type { SlidingWindow } from './sliding-window';
import { TimeWindow } from './time-window';

/** What a breaker needs besides its options. @publicApi */
export interface BreakerDeps {
  /** @default the wall clock */
  clock?: Clock;
  /** Options under the breaker's own (above its preset): the module's `defaults`. */
  defaults?: BreakerOptions;
  /** Where errors thrown by event listeners go. @default a process warning */
  onListenerError?: ListenerErrorHandler;
}

/** Options of a manual `reset()`. @publicApi */
export interface ResetOptions {
  reason?: string;
  actor?: string | null;
  /** Reset even within `resetCooldown` of the last opening. */
  force?: boolean;
}

/** Handed to calls when no timeout is configured: one signal that never aborts, no allocation per call. */
const NEVER_ABORTED = new AbortController().signal;

const OPENED: ReadonlySet<CircuitState> = new Set([
  CircuitState.OPEN,
  CircuitState.HALF_OPEN,
  CircuitState.FORCED_OPEN,
]);

/**
 * A circuit breaker. Usable on its own, without Nest:
 * @example
 * const breaker = new Breaker('payments', { failureThreshold: 5, openDuration: 30_000 });
 * const quote = await breaker.execute((signal) => fetch(url, { signal }));
 * @publicApi
 */
export class Breaker {
  readonly options: ResolvedBreakerOptions;
  /** Bumps on every recorded outcome and transition, so a store writes only what changed. */
  version = 0;

  private phase: BreakerStateBase;
  private readonly window: SlidingWindow;
  /** What the states see of the breaker; kept off the public surface. */
  private readonly host: StateHost;
  private readonly clock: Clock;
  private readonly events: EventEmitter<BreakerEventMap>;
  private openDuration: number;
  private lastOpenedAt: number | null = null;
  private tripCount = 0;
  private rejectedCount = 0;
  private running = 0;

  /** @throws {InvalidBreakerOptionsError} when an option is bad. */
  constructor(
    readonly name: string,
    options: BreakerOptions = {},
    deps: BreakerDeps = {},
  ) {
    this.options = resolveBreakerOptions(name, options, deps.defaults);
    this.clock = deps.clock ?? systemClock;
    this.events = new EventEmitter(deps.onListenerError);
    const w = this.options.window;
    this.window = w.type === 'count' ? new CountWindow(w.size) : new TimeWindow(w.ms);
    this.openDuration = this.options.openDuration;
    this.host = {
      options: this.options,
      window: this.window,
      open: (reason, now, afterTrial) => this.open(reason, now, afterTrial),
      close: (reason, now) => this.moveTo(new ClosedState(this.host), reason, now),
      enterHalfOpen: (now) => this.moveTo(new HalfOpenState(this.host), 'open_duration_elapsed', now),
      current: () => this.phase,
    };
    this.phase = new ClosedState(this.host);
  }

  /** The state as of now: an OPEN breaker whose open period has passed reads HALF_OPEN. */
  get state(): CircuitState {
    this.phase.refresh(this.clock.now());
    return this.phase.state;
  }

  /** Calls running through the breaker now. */
  get inFlight(): number {
    return this.running;
  }

  /**
   * Runs `fn` if the breaker lets it through and records its outcome.
   * @throws {BreakerOpenError} (as a rejected promise) when the call is not admitted.
   * @throws {BreakerTimeoutError} when `timeout` is set and the call takes longer.
   */
  execute<T>(fn: (signal: AbortSignal) => T | PromiseLike<T>): Promise<T> {
    const startedAt = this.clock.now();
    const rejection = this.phase.admit(startedAt);
    if (rejection !== null) return Promise.reject(this.reject(rejection, startedAt));
    const phase = this.phase;
    this.running++;
    if (this.options.timeout !== false)
      return this.executeWithTimeout(fn, phase, startedAt, this.options.timeout);
    let result: T | PromiseLike<T>;
    try {
      result = fn(NEVER_ABORTED);
    } catch (error) {
      this.settleError(phase, startedAt, error, false);
      return Promise.reject(error);
    }
    if (!isThenable(result)) {
      this.settleSuccess(phase, startedAt);
      return Promise.resolve(result);
    }
    const promise = result instanceof Promise ? (result as Promise<T>) : Promise.resolve(result);
    return promise.then(
      (value) => {
        this.settleSuccess(phase, startedAt);
        return value;
      },
      (error: unknown) => {
        this.settleError(phase, startedAt, error, false);
        throw error;
      },
    );
  }

  /** Subscribes to an event; returns the function that unsubscribes. */
  on<E extends BreakerEventName>(event: E, listener: BreakerListener<E>): () => void {
    return this.events.on(event, listener);
  }

  snapshot(): BreakerSnapshot {
    const now = this.clock.now();
    this.phase.refresh(now);
    const t = this.window.totals(now);
    const state = this.phase.state;
    return {
      name: this.name,
      state,
      failures: t.failures,
      successes: t.calls - t.failedCalls,
      rejected: this.rejectedCount,
      failureRate: t.calls === 0 ? 0 : t.failures / t.calls,
      openedAt: OPENED.has(state) ? this.lastOpenedAt : null,
      nextAttemptAt: this.phase.nextAttemptAt(),
      tripCount: this.tripCount,
      calls: t.calls,
      slowCalls: t.slow,
      slowCallRate: t.calls === 0 ? 0 : t.slow / t.calls,
      inFlight: this.running,
      openDuration: this.openDuration,
      critical: this.options.critical,
    };
  }

  /**
   * Opens the breaker by hand (FORCED_OPEN): calls are rejected until `reset()`.
   * Takes effect at once; the promise settles once listeners (a store) have it.
   */
  trip(reason = 'manual trip', actor: string | null = null): Promise<void> {
    return this.control('trip', reason, actor, (now) => {
      if (this.phase.state === CircuitState.FORCED_OPEN) return;
      this.noteOpening(now);
      return new ForcedOpenState(this.host);
    });
  }

  /**
   * Closes the breaker by hand and starts a fresh window.
   * @throws {ResetCooldownError} (as a rejected promise) within `resetCooldown` of the last
   * opening, unless `force` is set.
   */
  reset({ reason = 'manual reset', actor = null, force = false }: ResetOptions = {}): Promise<void> {
    const now = this.clock.now();
    const left = this.lastOpenedAt === null ? 0 : this.lastOpenedAt + this.options.resetCooldown - now;
    if (!force && left > 0) {
      // A refused reset is still a manual action: the audit log shows who tried and why it was refused.
      const error = new ResetCooldownError(this.name, left);
      return this.control('reset', `refused by resetCooldown: ${reason}`, actor, () => undefined).then(() => {
        throw error;
      });
    }
    return this.control('reset', reason, actor, () => new ClosedState(this.host));
  }

  /** Switches the breaker off (DISABLED): calls pass straight through and nothing opens it. */
  disable(reason = 'manual disable', actor: string | null = null): Promise<void> {
    return this.control('disable', reason, actor, () =>
      this.phase.state === CircuitState.DISABLED ? undefined : new DisabledState(this.host),
    );
  }

  /** What a store keeps to bring this breaker back after a restart. */
  exportState(): BreakerStateRecord {
    const now = this.clock.now();
    return {
      name: this.name,
      state: this.phase.state,
      openedAt: this.lastOpenedAt,
      openDuration: this.openDuration,
      tripCount: this.tripCount,
      rejected: this.rejectedCount,
      window: this.window.export(now),
      savedAt: now,
    };
  }

  /**
   * Brings back a state a store kept, without events. OPEN keeps the open time that was
   * left; HALF_OPEN comes back OPEN for a fresh open period (its trials died with the
   * process); counts older than the window are dropped.
   */
  restoreState(record: BreakerStateRecord): void {
    const now = this.clock.now();
    const o = this.options;
    this.tripCount = record.tripCount;
    this.rejectedCount = record.rejected;
    this.lastOpenedAt = record.openedAt;
    this.openDuration = Math.min(Math.max(record.openDuration, o.openDuration), o.openDurationMax);
    this.window.import(record.window, now);
    switch (record.state) {
      case CircuitState.OPEN:
        this.phase = new OpenState(this.host, (record.openedAt ?? now) + this.openDuration);
        break;
      case CircuitState.HALF_OPEN:
        this.phase = new OpenState(this.host, now + this.openDuration);
        break;
      case CircuitState.FORCED_OPEN:
        this.phase = new ForcedOpenState(this.host);
        break;
      case CircuitState.DISABLED:
        this.phase = new DisabledState(this.host);
        break;
      default:
        this.phase = new ClosedState(this.host);
    }
    this.version++;
  }

  private open(reason: string, now: number, afterTrial: boolean): void {
    if (afterTrial)
      this.openDuration = Math.min(
        this.openDuration * this.options.openBackoff,
        this.options.openDurationMax,
      );
    this.noteOpening(now);
    this.moveTo(new OpenState(this.host, now + this.openDuration), reason, now);
  }

  private noteOpening(now: number): void {
    this.tripCount++;
    this.lastOpenedAt = now;
  }

  /** The one place a state is installed: closing starts a fresh window and open duration. */
  private moveTo(
    next: BreakerStateBase,
    reason: string,
    now: number,
    manual = false,
    actor: string | null = null,
    pending?: Promise<unknown>[],
  ): void {
    const from = this.phase.state;
    const t = this.window.totals(now);
    const failureRate = t.calls === 0 ? 0 : t.failures / t.calls;
    this.phase = next;
    this.version++;
    if (next.state === CircuitState.CLOSED) {
      this.window.reset();
      this.openDuration = this.options.openDuration;
    }
    if (from !== next.state) {
      this.events.emit(
        'stateChange',
        { breaker: this.name, from, to: next.state, reason, manual, actor, failureRate, at: now },
        pending,
      );
    }
  }

  private control(
    action: ControlAction,
    reason: string,
    actor: string | null,
    nextState: (now: number) => BreakerStateBase | undefined,
  ): Promise<void> {
    const now = this.clock.now();
    this.phase.refresh(now);
    const from = this.phase.state;
    const pending: Promise<unknown>[] = [];
    const next = nextState(now);
    if (next) this.moveTo(next, reason, now, true, actor, pending);
    this.events.emit(
      'control',
      { breaker: this.name, action, from, to: this.phase.state, reason, actor, at: now },
      pending,
    );
    return pending.length === 0 ? Promise.resolve() : Promise.all(pending).then(() => undefined);
  }

  private reject(reason: RejectionReason, now: number): BreakerOpenError {
    this.rejectedCount++;
    this.version++;
    if (this.events.has('rejected')) this.events.emit('rejected', { breaker: this.name, reason });
    return new BreakerOpenError(this.name, this.phase.state, Math.max(0, this.phase.retryAfter(now)));
  }

  private executeWithTimeout<T>(
    fn: (signal: AbortSignal) => T | PromiseLike<T>,
    phase: BreakerStateBase,
    startedAt: number,
    timeoutMs: number,
  ): Promise<T> {
    const controller = new AbortController();
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        settled = true;
        const error = new BreakerTimeoutError(this.name, timeoutMs);
        controller.abort(error);
        this.settleError(phase, startedAt, error, true);
        reject(error);
      }, timeoutMs);
      const finish = (error: unknown, value?: T, failed = false) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (failed) {
          this.settleError(phase, startedAt, error, false);
          reject(error);
        } else {
          this.settleSuccess(phase, startedAt);
          resolve(value as T);
        }
      };
      try {
        Promise.resolve(fn(controller.signal)).then(
          (value) => finish(undefined, value),
          (error: unknown) => finish(error, undefined, true),
        );
      } catch (error) {
        finish(error, undefined, true);
      }
    });
  }

  private settleSuccess(phase: BreakerStateBase, startedAt: number): void {
    const now = this.clock.now();
    const durationMs = now - startedAt;
    this.running--;
    this.phase.refresh(now);
    if (phase === this.phase) {
      phase.onSuccess(now, durationMs, startedAt);
      this.version++;
    }
    if (this.events.has('success')) this.events.emit('success', { breaker: this.name, durationMs });
  }

  private settleError(phase: BreakerStateBase, startedAt: number, error: unknown, timedOut: boolean): void {
    const now = this.clock.now();
    const durationMs = now - startedAt;
    this.running--;
    this.phase.refresh(now);
    const current = phase === this.phase;
    if (!this.countsAsFailure(error)) {
      if (current) phase.onIgnored(startedAt);
      if (this.events.has('ignored')) this.events.emit('ignored', { breaker: this.name, durationMs, error });
      return;
    }
    const weight = this.weigh(error);
    if (current) {
      phase.onFailure(now, weight, startedAt);
      this.version++;
    }
    if (timedOut) {
      if (this.events.has('timeout')) {
        this.events.emit('timeout', {
          breaker: this.name,
          durationMs,
          timeoutMs: this.options.timeout as number,
        });
      }
    } else if (this.events.has('failure')) {
      this.events.emit('failure', { breaker: this.name, durationMs, error, weight });
    }
  }

  /**
   * Whether this breaker counts `error` as a failure (its `isFailure`); a predicate that
   * throws cannot tell the error is harmless, so it counts.
   */
  countsAsFailure(error: unknown): boolean {
    try {
      return this.options.isFailure(error) !== false;
    } catch {
      return true;
    }
  }

  /** A weight that is not a finite number >= 0 counts as a full failure. */
  private weigh(error: unknown): number {
    let weight: unknown;
    try {
      weight = this.options.failureWeight(error);
    } catch {
      return 1;
    }
    return typeof weight === 'number' && Number.isFinite(weight) && weight >= 0 ? weight : 1;
  }
}

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof value === 'object' && value !== null && typeof (value as PromiseLike<T>).then === 'function';
}
