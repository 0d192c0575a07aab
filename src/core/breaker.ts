import type { BreakerCoordinator, RemoteTransition, TrialLease } from './breaker-coordinator';
import { keyedBreakerName, type BreakerKey } from './breaker-key';
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
  type Admission,
  BreakerStateBase,
  ClosedState,
  DisabledState,
  ForcedOpenState,
  HalfOpenState,
  OpenState,
} from './breaker-states';
import { CircuitState } from './circuit-state';
import { systemClock, type Clock } from './clock';
import { CountWindow } from './count-window';
import { DeadlineList, runtimeTimers, type Deadline } from './deadline-list';
import { BreakerOpenError, BreakerTimeoutError, LoadShedError, ResetCooldownError } from './errors';
import { sharedEventLoopSampler } from './event-loop-sampler';
import { EventEmitter, type ListenerErrorHandler } from './event-emitter';
import type { LoadSampler } from './load-sampler';
import { resolveBreakerOptions } from './resolve-options';
import type { SlidingWindow, WindowTotals } from './sliding-window';
import { TimeWindow } from './time-window';
import { SignalledCall, type WatchedCall } from './watched-call';

/** What a breaker needs besides its options. @publicApi */
export interface BreakerDeps {
  /** @default the wall clock */
  clock?: Clock;
  /** Options under the breaker's own (above its preset): the module's `defaults`. */
  defaults?: BreakerOptions;
  /** Where errors thrown by event listeners go. @default a process warning */
  onListenerError?: ListenerErrorHandler;
  /**
   * Makes it the per-key breaker of this key under its name: its full name is then
   * `name#key` (see {@link keyedBreakerName}). The registry sets it for `get(name, key)`.
   */
  key?: string;
  /**
   * Where `loadShed` reads the load. The module gives every breaker of an app the same one.
   * @default one event-loop sampler per process
   */
  loadSampler?: LoadSampler;
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

/** What a window that has recorded nothing yet reads. */
const NO_CALLS: Readonly<WindowTotals> = Object.freeze({ calls: 0, failedCalls: 0, failures: 0, slow: 0 });

/** Events that describe one call and carry its duration. */
const CALL_EVENTS: ReadonlySet<BreakerEventName> = new Set<BreakerEventName>([
  'success',
  'failure',
  'ignored',
  'timeout',
]);

/**
 * A circuit breaker. Usable on its own, without Nest:
 * @example
 * const breaker = new Breaker('payments', { failureThreshold: 5, openDuration: 30_000 });
 * const quote = await breaker.execute((signal) => fetch(url, { signal }));
 * @publicApi
 */
export class Breaker {
  /** Its full name: the name it was given, or `name#key` for a per-key breaker. */
  readonly name: string;
  /** For a per-key breaker: the name it is kept under (whose options it uses) and its key. */
  readonly perKey: BreakerKey | undefined;
  readonly options: ResolvedBreakerOptions;
  /** Bumps on every recorded outcome and transition, so a store writes only what changed. */
  version = 0;

  private phase: BreakerStateBase;
  private readonly clock: Clock;
  /** Made on the first recorded outcome: an idle breaker holds no window. */
  private window: SlidingWindow | null = null;
  /** Made on the first subscription: a breaker nobody listens to holds no emitter. */
  private events: EventEmitter<BreakerEventMap> | null = null;
  /**
   * Whether a call's start must be read from the clock: for slow-call detection, and once
   * anyone listens to call events (they carry durations). Otherwise a CLOSED breaker admits a
   * call without reading the clock, which is most of its cost on the success path.
   */
  private timed: boolean;
  /**
   * Handlers for the untimed calls of a CLOSED state, made once per state, not per call; while
   * they belong to the state in force, `execute()` takes its short way. Null once calls are timed.
   */
  private untimed: UntimedSettler | null = null;
  private openDuration: number;
  private lastOpenedAt: number | null = null;
  private tripCount = 0;
  private rejectedCount = 0;
  private running = 0;
  /** What `loadShed` compares, with the sampler it reads; null when the breaker never sheds. */
  private readonly shedding: Shedding | null;
  private coordinator: BreakerCoordinator | null = null;
  /** The deadlines of running calls under a `timeout`, watched by one timer: made by the first such call. */
  private deadlines: DeadlineList<WatchedRecord<unknown>> | null = null;
  /** Its app closed: see {@link detachTimers}. */
  private timersDetached = false;

  /** @throws {InvalidBreakerOptionsError} when an option is bad. */
  constructor(
    name: string,
    options?: BreakerOptions,
    private readonly deps: BreakerDeps = {},
  ) {
    const { key } = deps;
    this.name = key === undefined ? name : keyedBreakerName(name, key);
    this.perKey = key === undefined ? undefined : { name, key };
    this.options = resolveBreakerOptions(name, options, deps.defaults);
    this.clock = deps.clock ?? systemClock;
    this.timed = this.options.slowCallDuration !== undefined;
    this.openDuration = this.options.openDuration;
    this.phase = new ClosedState(this);
    const { loadShed } = this.options;
    this.shedding =
      loadShed === false ? null : { ...loadShed, sampler: deps.loadSampler ?? sharedEventLoopSampler() };
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
    // The common case (CLOSED, nothing timed, no timeout) is kept to these few lines: an error fn
    // throws captures this frame in its stack, and a frame that holds less costs less to capture.
    const settler = this.untimed;
    if (settler === null || settler.phase !== this.phase) return this.admitAndRun(fn);
    this.running++;
    let result: T | PromiseLike<T>;
    try {
      result = fn(NEVER_ABORTED);
    } catch (error) {
      return this.failedAtOnce(settler.phase, undefined, error);
    }
    if (result instanceof Promise) return result.then(settler.success, settler.failure) as Promise<T>;
    return this.settleResult(result, settler.phase, undefined);
  }

  /**
   * Lets `coordinator` take part in this breaker's decisions (a shared store does): it hears
   * every transition the breaker makes itself and grants its HALF_OPEN trials. `null` removes it.
   */
  coordinateWith(coordinator: BreakerCoordinator | null): void {
    this.coordinator = coordinator;
  }

  /**
   * Applies a transition decided elsewhere (another instance of the fleet) at once, with the
   * usual `stateChange` event, without reporting it back to the coordinator.
   */
  applyRemote(transition: RemoteTransition): void {
    const now = this.clock.now();
    const from = this.phase.state;
    let next: BreakerStateBase;
    if (transition.to === CircuitState.OPEN) {
      this.openDuration = transition.openDuration;
      next = new OpenState(this, transition.until);
    } else if (transition.to === CircuitState.FORCED_OPEN) next = new ForcedOpenState(this);
    else if (transition.to === CircuitState.DISABLED) next = new DisabledState(this);
    else next = new ClosedState(this);
    const opening = OPENED.has(next.state) && from !== next.state && from !== CircuitState.OPEN;
    if (opening) this.tripCount++;
    if (transition.openedAt !== null) this.lastOpenedAt = transition.openedAt;
    const manual = transition.to !== CircuitState.OPEN && transition.manual;
    const actor = transition.to === CircuitState.OPEN ? null : transition.actor;
    this.moveTo(next, transition.reason, now, { manual, actor, remote: true });
  }

  /**
   * @internal `execute()` for a call that is told of its outcome (see {@link WatchedCall}): the
   * breaker's `timeout` tells the call instead of aborting a signal, and a value the call says
   * is a failure is counted as one while its caller still gets the value.
   */
  executeWatched<T>(call: WatchedCall<T>): Promise<T> {
    return this.admitAndRun(call);
  }

  /**
   * @internal Its app closed (a shutdown that stopped waiting for calls still running): the
   * timer of their timeouts holds the process open no longer.
   */
  detachTimers(): void {
    this.timersDetached = true;
    this.deadlines?.detach();
  }

  /** Subscribes to an event; returns the function that unsubscribes. */
  on<E extends BreakerEventName>(event: E, listener: BreakerListener<E>): () => void {
    if (CALL_EVENTS.has(event)) {
      // From now on calls carry durations: none may take the untimed way.
      this.timed = true;
      this.untimed = null;
    }
    return (this.events ??= new EventEmitter(this.deps.onListenerError)).on(event, listener);
  }

  snapshot(): BreakerSnapshot {
    const now = this.clock.now();
    this.phase.refresh(now);
    const t = this.totals(now);
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
    return this.control('trip', actor, (now) => {
      if (this.phase.state === CircuitState.FORCED_OPEN) return { reason };
      this.noteOpening(now);
      return { reason, next: new ForcedOpenState(this) };
    });
  }

  /**
   * Closes the breaker by hand and starts a fresh window.
   * @throws {ResetCooldownError} (as a rejected promise) when the breaker holds calls back
   * (OPEN, HALF_OPEN, FORCED_OPEN, as of now: an opening the clock made due counts) and opened
   * less than `resetCooldown` ago, unless `force` is set. A reset of a DISABLED breaker (its
   * protection back on) or a CLOSED one (a fresh window) lets no held-back call through: never refused.
   */
  reset({ reason = 'manual reset', actor = null, force = false }: ResetOptions = {}): Promise<void> {
    let refused: ResetCooldownError | undefined;
    const done = this.control('reset', actor, (now) => {
      const left =
        this.lastOpenedAt === null || !OPENED.has(this.phase.state)
          ? 0
          : this.lastOpenedAt + this.options.resetCooldown - now;
      if (force || left <= 0) return { reason, next: new ClosedState(this) };
      // A refused reset is still a manual action: the audit log shows who tried and why it was refused.
      refused = new ResetCooldownError(this.name, left);
      return { reason: `refused by resetCooldown: ${reason}` };
    });
    return refused === undefined
      ? done
      : done.then(() => {
          throw refused;
        });
  }

  /** Switches the breaker off (DISABLED): calls pass straight through and nothing opens it. */
  disable(reason = 'manual disable', actor: string | null = null): Promise<void> {
    return this.control('disable', actor, () =>
      this.phase.state === CircuitState.DISABLED ? { reason } : { reason, next: new DisabledState(this) },
    );
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

  /** What a store keeps to bring this breaker back after a restart. */
  exportState(): BreakerStateRecord {
    const now = this.clock.now();
    const type = this.options.window.type;
    return {
      name: this.name,
      state: this.phase.state,
      openedAt: this.lastOpenedAt,
      openDuration: this.openDuration,
      tripCount: this.tripCount,
      rejected: this.rejectedCount,
      window: this.window?.export(now) ?? (type === 'time' ? { type, buckets: [] } : { type, outcomes: [] }),
      savedAt: now,
    };
  }

  /**
   * Brings back a state a store kept, without events. OPEN keeps the open time that was
   * left; HALF_OPEN comes back OPEN for a fresh open period from now (its trials died with the
   * process; `openedAt` moves to now, `tripCount` stays); counts older than the window are
   * dropped.
   * @returns whether the breaker now differs from the record (a store writes it back).
   */
  restoreState(record: BreakerStateRecord): boolean {
    const now = this.clock.now();
    const o = this.options;
    this.tripCount = record.tripCount;
    this.rejectedCount = record.rejected;
    // Never later than now: a clock that was ahead when the record was made (or is behind now)
    // would lengthen the open period and the reset cooldown by the difference.
    const openedAt = record.openedAt === null ? null : Math.min(record.openedAt, now);
    this.lastOpenedAt = openedAt;
    this.openDuration = Math.min(Math.max(record.openDuration, o.openDuration), o.openDurationMax);
    this.ownWindow().import(record.window, now);
    switch (record.state) {
      case CircuitState.OPEN:
        this.phase = new OpenState(this, (openedAt ?? now) + this.openDuration);
        break;
      case CircuitState.HALF_OPEN:
        // Reopened as of now (not a trip): openedAt + openDuration then says when the fresh period ends,
        // so a record of this state brings the same period back after another restart.
        this.lastOpenedAt = now;
        this.phase = new OpenState(this, now + this.openDuration);
        break;
      case CircuitState.FORCED_OPEN:
        this.phase = new ForcedOpenState(this);
        break;
      case CircuitState.DISABLED:
        this.phase = new DisabledState(this);
        break;
      default:
        this.phase = new ClosedState(this);
    }
    this.version++;
    return this.phase.state !== record.state;
  }

  /** @internal For the states: records one outcome in the window. */
  record(at: number, failed: boolean, weight: number, slow: boolean): Readonly<WindowTotals> {
    return this.ownWindow().record(at, failed, weight, slow);
  }

  /** @internal For the states: opens the breaker; after a failed trial the open duration grows. */
  enterOpen(reason: string, afterTrial: boolean, at = this.clock.now()): void {
    if (afterTrial)
      this.openDuration = Math.min(
        this.openDuration * this.options.openBackoff,
        this.options.openDurationMax,
      );
    this.noteOpening(at);
    this.moveTo(new OpenState(this, at + this.openDuration), reason, at);
  }

  /** @internal For the states. */
  enterClosed(reason: string): void {
    this.moveTo(new ClosedState(this), reason, this.clock.now());
  }

  /** @internal For the states. */
  enterHalfOpen(now: number): void {
    this.moveTo(new HalfOpenState(this), 'open_duration_elapsed', now);
  }

  /** @internal For the states: the state in force now. */
  currentState(): BreakerStateBase {
    return this.phase;
  }

  private ownWindow(): SlidingWindow {
    const w = this.options.window;
    return (this.window ??= w.type === 'count' ? new CountWindow(w.size) : new TimeWindow(w.ms));
  }

  private totals(now: number): Readonly<WindowTotals> {
    return this.window === null ? NO_CALLS : this.window.totals(now);
  }

  private noteOpening(now: number): void {
    this.tripCount++;
    this.lastOpenedAt = now;
  }

  /** The one place a state is installed: closing starts a fresh window and open duration. */
  private moveTo(next: BreakerStateBase, reason: string, now: number, how: TransitionKind = AUTOMATIC): void {
    const { manual, actor, pending } = how;
    const from = this.phase.state;
    this.phase = next;
    this.version++;
    if (next.state === CircuitState.CLOSED) {
      this.window?.reset();
      this.openDuration = this.options.openDuration;
    }
    if (from !== next.state && this.events !== null) {
      // Read after a close has emptied the window, so a closing never reports the rate that opened it.
      const t = this.totals(now);
      const failureRate = t.calls === 0 ? 0 : t.failures / t.calls;
      this.events.emit(
        'stateChange',
        {
          breaker: this.name,
          from,
          to: next.state,
          reason,
          manual,
          actor,
          remote: how.remote === true,
          failureRate,
          at: now,
        },
        pending,
      );
    }
    if (from !== next.state && this.coordinator !== null && !how.remote) {
      const done = this.coordinator.coordinate({
        breaker: this.name,
        from,
        to: next.state,
        reason,
        manual,
        actor,
        at: now,
        openDuration: this.openDuration,
      });
      if (done instanceof Promise) pending?.push(done);
    }
  }

  /**
   * The one way a manual action is carried out: transitions the clock made due come first, so
   * `decide` sees the state as of now; then its state (if any) is installed and the action
   * reported.
   */
  private control(
    action: ControlAction,
    actor: string | null,
    decide: (now: number) => { reason: string; next?: BreakerStateBase },
  ): Promise<void> {
    const now = this.clock.now();
    this.phase.refresh(now);
    const from = this.phase.state;
    const pending: Promise<unknown>[] = [];
    const { reason, next } = decide(now);
    if (next) this.moveTo(next, reason, now, { manual: true, actor, pending });
    this.events?.emit(
      'control',
      { breaker: this.name, action, from, to: this.phase.state, reason, actor, at: now },
      pending,
    );
    return pending.length === 0 ? Promise.resolve() : Promise.all(pending).then(() => undefined);
  }

  /** The one place a rejection is counted and its error built. */
  private reject(
    reason: RejectionReason,
    now: number,
    retryAfter = this.phase.retryAfter(now),
  ): BreakerOpenError {
    this.rejectedCount++;
    this.version++;
    this.events?.emit('rejected', { breaker: this.name, reason });
    const retryAfterMs = Math.max(0, retryAfter);
    return BreakerOpenError.fast(this.name, this.phase.state, retryAfterMs);
  }

  /** A call `loadShed` refused: a rejection like the states', counted and reported as one. */
  private shed(utilization: number): LoadShedError {
    this.rejectedCount++;
    this.version++;
    this.events?.emit('rejected', { breaker: this.name, reason: 'load_shed' });
    return new LoadShedError(this.name, utilization, this.running);
  }

  /**
   * `execute()` for every call but an untimed CLOSED one whose handlers are made, and
   * `executeWatched()`. A call is timed (its start read from the clock) when it needs a duration
   * or the state needs the time to admit it; `startedAt` stays undefined otherwise.
   */
  private admitAndRun<T>(task: Task<T>): Promise<T> {
    const shedding = this.shedding;
    let admission: Admission = this.phase;
    let startedAt: number | undefined;
    if (this.timed || this.phase.state !== CircuitState.CLOSED) {
      startedAt = this.clock.now();
      const admitted = this.phase.admit(startedAt);
      if (typeof admitted === 'string') return rejectSoon(this.reject(admitted, startedAt));
      admission = admitted;
    } else if (typeof task === 'function' && this.options.timeout === false && shedding === null) {
      // The first untimed call of this CLOSED state makes its handlers; it and the next ones take the short way
      // (which a shedding breaker never takes: its check lives here).
      this.untimed = this.untimedSettler(this.phase);
      return this.execute(task);
    }
    // Only a call the state would run is shed (one it rejects gets the state's answer: open, forced_open,
    // half_open_full); a shed trial gives its slot back, and no shed call reaches the window.
    if (shedding !== null && this.running > shedding.inFlight) {
      const utilization = shedding.sampler.utilization();
      if (utilization > shedding.utilization) {
        admission.onIgnored();
        return rejectSoon(this.shed(utilization));
      }
    }
    // A HALF_OPEN trial (an admission that is not its state) runs only once the coordinator grants it.
    if (this.coordinator !== null && admission !== admission.phase) {
      return this.runLeasedTrial(task, this.coordinator, admission, startedAt as number);
    }
    return this.run(task, admission, startedAt);
  }

  /** Runs an admitted call. */
  private run<T>(task: Task<T>, admission: Admission, startedAt: number | undefined): Promise<T> {
    this.running++;
    if (typeof task !== 'function') return this.runWatched(task, admission, startedAt);
    if (this.options.timeout !== false) return this.runWatched(new SignalledCall(task), admission, startedAt);
    let result: T | PromiseLike<T>;
    try {
      result = task(NEVER_ABORTED);
    } catch (error) {
      return this.failedAtOnce(admission, startedAt, error);
    }
    return this.settleResult(result, admission, startedAt);
  }

  /**
   * Asks the coordinator for the trial the state admitted; without its lease the trial frees
   * its slot and the caller is rejected as if the trials were taken.
   */
  private async runLeasedTrial<T>(
    task: Task<T>,
    coordinator: BreakerCoordinator,
    trial: Admission,
    startedAt: number,
  ): Promise<T> {
    const lease = await coordinator.claimTrial(this.name);
    if (lease === null || !('settle' in lease)) {
      trial.onIgnored();
      // The fleet's trials run elsewhere: their leases, not this instance's state, say when to retry.
      throw this.reject('half_open_full', this.clock.now(), lease?.retryAfterMs);
    }
    return this.run(task, leasedTrial(trial, lease), startedAt);
  }

  /** A call whose fn threw instead of returning a promise. */
  private failedAtOnce<T>(admission: Admission, startedAt: number | undefined, error: unknown): Promise<T> {
    this.settle(admission, startedAt, true, error);
    return Promise.reject(error);
  }

  /** Settles a call by what fn returned: a promise, another thenable, or a plain value. */
  private settleResult<T>(
    result: T | PromiseLike<T>,
    admission: Admission,
    startedAt: number | undefined,
  ): Promise<T> {
    if (result instanceof Promise) return this.watch(result as Promise<T>, admission, startedAt);
    if (isThenable(result)) return this.watch(Promise.resolve(result), admission, startedAt);
    this.settle(admission, startedAt, false);
    return Promise.resolve(result);
  }

  /** Settles the call when `promise` does; the caller gets a promise of its own, which it may leave unhandled. */
  private watch<T>(promise: Promise<T>, admission: Admission, startedAt: number | undefined): Promise<T> {
    return promise.then(
      (value) => {
        this.settle(admission, startedAt, false);
        return value;
      },
      (error: unknown) => {
        this.settle(admission, startedAt, true, error);
        return new Rejection(error);
      },
    );
  }

  /**
   * Runs an admitted watched call. Under a `timeout` its caller gets a promise of the breaker's
   * own, which the timeout can reject first; the call's record is its deadline in the breaker's
   * list, and the call's outcome needs no layer of its own.
   */
  private runWatched<T>(
    call: WatchedCall<T>,
    admission: Admission,
    startedAt: number | undefined,
  ): Promise<T> {
    const record = new WatchedRecord(call, admission, startedAt);
    const timeoutMs = this.options.timeout;
    if (timeoutMs !== false) {
      record.at = (startedAt ?? this.clock.now()) + timeoutMs;
      (this.deadlines ??= this.newDeadlineList()).add(record);
    }
    let started: Promise<T>;
    try {
      const result = call.start();
      started = result instanceof Promise ? (result as Promise<T>) : Promise.resolve(result);
    } catch (error) {
      started = Promise.reject(error);
    }
    if (timeoutMs === false) {
      return started.then(
        (value) => {
          this.settleWatched(record, value, false);
          return value;
        },
        (error: unknown) => {
          this.settleWatched(record, error, true);
          return new Rejection(errorForCaller(record.call, error));
        },
      );
    }
    const outcome = new Promise<T>(keepResolvers);
    const resolve = keptResolve as (value: T) => void;
    const reject = (record.reject = keptReject);
    void started.then(
      (value) => {
        if (this.settleWatched(record, value, false)) resolve(value);
      },
      (error: unknown) => {
        if (this.settleWatched(record, error, true)) reject(errorForCaller(record.call, error));
      },
    );
    return outcome;
  }

  /**
   * Tells a watched call how it settled and, unless its timeout came first, settles it (a value
   * the call says is a failure counts as one). False when the timeout came first.
   */
  private settleWatched<T>(record: WatchedRecord<T>, outcome: unknown, rejected: boolean): boolean {
    let failed = rejected;
    let error = outcome;
    let judged = true;
    try {
      if (rejected) {
        const verdict = record.call.failed(outcome);
        if (verdict === 'success') failed = false;
        else judged = verdict !== false;
      } else {
        error = record.call.failureOf(outcome as T);
        failed = error !== undefined;
      }
    } catch {
      // A call that cannot judge its outcome leaves it as it came (an error to `isFailure`, a value
      // a success): its caller still gets it, and the call leaves the breaker.
    }
    // Under a timeout the list exists (the call is in it), unless the timeout came first.
    if (this.deadlines !== null && !this.deadlines.remove(record)) return false;
    this.settle(record.admission, record.startedAt, failed, error, false, judged);
    return true;
  }

  /** The list of running calls' deadlines, made with the first timed call. */
  private newDeadlineList(): DeadlineList<WatchedRecord<unknown>> {
    const list = new DeadlineList(this.clock, runtimeTimers, (due: WatchedRecord<unknown>) =>
      this.timeOut(due),
    );
    if (this.timersDetached) list.detach();
    return list;
  }

  /** Ends a watched call whose timeout came first (out of the list already). */
  private timeOut(record: WatchedRecord<unknown>): void {
    const error = new BreakerTimeoutError(this.name, this.options.timeout as number);
    record.call.timedOut(error);
    this.settle(record.admission, record.startedAt, true, error, true);
    record.reject?.(error);
  }

  /** Handlers that settle untimed calls admitted under `phase`, made once per CLOSED state, not per call. */
  private untimedSettler(phase: BreakerStateBase): UntimedSettler {
    return {
      phase,
      success: (value) => {
        this.settle(phase, undefined, false);
        return value;
      },
      failure: (error) => {
        this.settle(phase, undefined, true, error);
        return new Rejection(error);
      },
    };
  }

  /**
   * The one place a call ends. A timed call is dated by the clock, may be slow, and its events
   * carry its duration; an untimed one (CLOSED, and nobody wants its duration) is dated by the
   * clock's coarse reading, for a time window's bucket. The state hears what the outcome means
   * (slow or not, its weight), if it is still the state the call was admitted under.
   */
  private settle(
    admission: Admission,
    startedAt: number | undefined,
    failed: boolean,
    error?: unknown,
    timedOut = false,
    judged = true,
  ): void {
    this.running--;
    const timed = startedAt !== undefined;
    const at = timed ? this.clock.now() : this.coarseNow();
    // A transition the clock made due meanwhile (an overdue trial) comes first: the call may now be late.
    if (timed) this.phase.refresh(at);
    const durationMs = timed ? at - startedAt : 0;
    // A failure the call says is none of the callee's doing (`judged` false) is not counted, whatever `isFailure` says.
    const counted = failed && judged && this.countsAsFailure(error);
    const weight = counted ? this.weigh(error) : 0;
    if (admission.phase === this.phase) {
      if (failed && !counted) admission.onIgnored();
      else {
        if (failed) admission.onFailure(weight, at);
        else admission.onSuccess(durationMs >= (this.options.slowCallDuration ?? Infinity), at);
        this.version++;
      }
    }
    // Only timed calls carry a duration: listeners that came after an untimed call started miss it.
    if (timed && this.events !== null) this.emitCall(failed, counted, weight, durationMs, error, timedOut);
  }

  private emitCall(
    failed: boolean,
    counted: boolean,
    weight: number,
    durationMs: number,
    error: unknown,
    timedOut: boolean,
  ): void {
    const events = this.events as EventEmitter<BreakerEventMap>;
    const breaker = this.name;
    if (!failed) events.emit('success', { breaker, durationMs });
    else if (!counted) events.emit('ignored', { breaker, durationMs, error });
    else if (timedOut)
      events.emit('timeout', { breaker, durationMs, timeoutMs: this.options.timeout as number });
    else events.emit('failure', { breaker, durationMs, error, weight });
  }

  private coarseNow(): number {
    return this.clock.coarseNow === undefined ? this.clock.now() : this.clock.coarseNow();
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

interface Shedding {
  readonly utilization: number;
  readonly inFlight: number;
  readonly sampler: LoadSampler;
}

/** How a transition came about, beyond its reason. */
interface TransitionKind {
  manual: boolean;
  actor: string | null;
  /** Where a manual action collects the promises it settles after. */
  pending?: Promise<unknown>[];
  /** Decided elsewhere: not reported back to the coordinator. */
  remote?: boolean;
}

const AUTOMATIC: TransitionKind = { manual: false, actor: null };

/** A trial that also tells its coordinator's lease how it ended (a slow trial fails). */
function leasedTrial(trial: Admission, lease: TrialLease): Admission {
  return {
    phase: trial.phase,
    onSuccess(slow, at) {
      lease.settle(slow ? 'failure' : 'success');
      trial.onSuccess(slow, at);
    },
    onFailure(weight, at) {
      lease.settle('failure');
      trial.onFailure(weight, at);
    },
    onIgnored() {
      lease.settle('ignored');
      trial.onIgnored();
    },
  };
}

/** What a call runs: a function handed the call's signal, or a watched call. */
type Task<T> = ((signal: AbortSignal) => T | PromiseLike<T>) | WatchedCall<T>;

/** A running watched call: what its outcome goes to, and, under a timeout, its deadline. */
class WatchedRecord<T> implements Deadline {
  at = 0;
  prev: Deadline | undefined = undefined;
  next: Deadline | undefined = undefined;
  reject: ((error: unknown) => void) | undefined = undefined;

  constructor(
    readonly call: WatchedCall<T>,
    readonly admission: Admission,
    readonly startedAt: number | undefined,
  ) {}
}

/** The error the caller of a watched call that failed with `error` gets (see {@link WatchedCall.errorForCaller}). */
function errorForCaller(call: WatchedCall<unknown>, error: unknown): unknown {
  if (call.errorForCaller === undefined) return error;
  try {
    return call.errorForCaller(error);
  } catch {
    return error;
  }
}

/**
 * Where `keepResolvers` leaves the functions that settle the promise just made: a promise's
 * executor runs at once, and a function made once costs no closure per call.
 */
let keptResolve: (value: never) => void;
let keptReject: (error: unknown) => void;

function keepResolvers(resolve: (value: never) => void, reject: (error: unknown) => void): void {
  keptResolve = resolve;
  keptReject = reject;
}

interface UntimedSettler {
  readonly phase: BreakerStateBase;
  readonly success: (value: unknown) => unknown;
  readonly failure: (error: unknown) => Rejection;
}

/**
 * Passes a failure on from a handler that does not hold the caller's promise: a rethrow costs
 * a few hundred ns, and a new rejected promise goes through Node's unhandled-rejection
 * bookkeeping before it is adopted. Only ever adopted by a promise, which ignores what `then`
 * returns.
 */
class Rejection implements PromiseLike<never> {
  constructor(private readonly error: unknown) {}

  then<R1 = never, R2 = never>(
    _onFulfilled?: ((value: never) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): PromiseLike<R1 | R2> {
    onRejected?.(this.error);
    return this as PromiseLike<R1 | R2>;
  }
}

/**
 * A promise that rejects one microtask later, once the caller has attached its handler: a
 * promise rejected with no handler yet goes through Node's unhandled-rejection bookkeeping,
 * which costs more than the rest of a rejection.
 */
function rejectSoon<T>(error: unknown): Promise<T> {
  return new Promise<T>((_, reject) => queueMicrotask(() => reject(error)));
}

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof value === 'object' && value !== null && typeof (value as PromiseLike<T>).then === 'function';
}
