import type { ResolvedBreakerOptions } from './breaker-options';
import type { RejectionReason } from './breaker-events';
import { CircuitState } from './circuit-state';
import type { WindowTotals } from './sliding-window';

/** Floating-point slack when comparing weighted sums with thresholds. */
const EPSILON = 1e-9;

/** The breaker as its states see it: they decide, it carries the transition out. */
export interface StateHost {
  readonly options: ResolvedBreakerOptions;
  /** Records one outcome, dated `at`, in the window; returns its totals after it. */
  record(at: number, failed: boolean, weight: number, slow: boolean): Readonly<WindowTotals>;
  /**
   * Opens the breaker, as of `at` (default: now); `afterTrial` grows the open duration by
   * `openBackoff`.
   */
  enterOpen(reason: string, afterTrial: boolean, at?: number): void;
  enterClosed(reason: string): void;
  enterHalfOpen(now: number): void;
  /** The state in force now (a transition may have replaced the caller). */
  currentState(): BreakerStateBase;
}

/**
 * What a call's outcome is reported to: the state that admitted it, or the trial slot it
 * holds. The breaker works out what the outcome means (slow or not, its weight) first.
 */
export interface Admission {
  /** The state the call was admitted under: its outcome counts only while that state is in force. */
  readonly phase: BreakerStateBase;
  /** `at`: when it ended, exactly for a timed call, by the clock's coarse reading otherwise. */
  onSuccess(slow: boolean, at: number): void;
  onFailure(weight: number, at: number): void;
  /** An error `isFailure` does not count: it decides nothing. */
  onIgnored(): void;
}

/**
 * One state of the machine (resilience4j's design): whether a call may go, what an
 * outcome does, and which transitions are due by the clock alone. Each transition
 * installs a new object, so an outcome can tell whether the state it was admitted
 * under is still the one in force.
 */
export abstract class BreakerStateBase implements Admission {
  abstract readonly state: CircuitState;

  constructor(protected readonly host: StateHost) {}

  /** A state is the admission of the calls it lets through itself (all but HALF_OPEN's trials). */
  get phase(): BreakerStateBase {
    return this;
  }

  /**
   * Admits a call (what its outcome goes to) or says why not. May move the breaker on first
   * (a due trial).
   */
  abstract admit(now: number): Admission | RejectionReason;

  /** Milliseconds until a call may be admitted, for a rejection. */
  retryAfter(_now: number): number {
    return 0;
  }

  /** Carries out transitions the clock alone makes due. */
  refresh(_now: number): void {}

  onSuccess(_slow: boolean, _at: number): void {}

  onFailure(_weight: number, _at: number): void {}

  onIgnored(): void {}

  /** Epoch ms the next trial is admitted, where that applies. */
  nextAttemptAt(): number | null {
    return null;
  }
}

/** Calls pass; each outcome is recorded and the thresholds are judged after every one. */
export class ClosedState extends BreakerStateBase {
  readonly state = CircuitState.CLOSED;

  admit(): Admission {
    return this;
  }

  override onSuccess(slow: boolean, at: number): void {
    const o = this.host.options;
    const totals = this.host.record(at, false, 0, slow);
    // A success adds no failure: only a rate can open on it (it may bring the calls up to minimumCalls).
    if (o.failureRateThreshold !== undefined || o.slowCallRateThreshold !== undefined) this.judge(totals);
  }

  override onFailure(weight: number, at: number): void {
    this.judge(this.host.record(at, true, weight, false));
  }

  private judge(totals: Readonly<WindowTotals>): void {
    const reason = this.openingReason(totals);
    if (reason !== null) this.host.enterOpen(reason, false);
  }

  private openingReason(t: Readonly<WindowTotals>): string | null {
    const o = this.host.options;
    if (o.failureThreshold !== undefined && t.failures >= o.failureThreshold - EPSILON)
      return 'failure_threshold';
    if (t.calls < o.minimumCalls) return null;
    if (o.failureRateThreshold !== undefined && t.failures / t.calls >= o.failureRateThreshold - EPSILON) {
      return 'failure_rate';
    }
    if (o.slowCallRateThreshold !== undefined && t.slow / t.calls >= o.slowCallRateThreshold - EPSILON) {
      return 'slow_call_rate';
    }
    return null;
  }
}

/** Calls are rejected until `until`; then the first caller (or reader) moves it to HALF_OPEN. */
export class OpenState extends BreakerStateBase {
  readonly state = CircuitState.OPEN;

  constructor(
    host: StateHost,
    private readonly until: number,
  ) {
    super(host);
  }

  admit(now: number): Admission | RejectionReason {
    if (!this.due(now)) return 'open';
    this.host.enterHalfOpen(now);
    return this.host.currentState().admit(now);
  }

  override retryAfter(now: number): number {
    return this.host.options.autoRecover ? this.until - now : this.host.options.openDuration;
  }

  override refresh(now: number): void {
    if (this.due(now)) this.host.enterHalfOpen(now);
  }

  override nextAttemptAt(): number | null {
    return this.host.options.autoRecover ? this.until : null;
  }

  private due(now: number): boolean {
    return this.host.options.autoRecover && now >= this.until;
  }
}

/** One trial call of a HALF_OPEN state: the slot it holds until its outcome frees it. */
class Trial implements Admission {
  constructor(
    readonly phase: HalfOpenState,
    readonly startedAt: number,
  ) {}

  onSuccess(slow: boolean): void {
    this.phase.trialSucceeded(this, slow);
  }

  onFailure(): void {
    this.phase.trialFailed(this);
  }

  onIgnored(): void {
    this.phase.release(this);
  }
}

/**
 * Up to `halfOpenMaxCalls` trials run at once; extra callers are rejected, never queued.
 * `halfOpenMaxCalls` successes in a row close the breaker; the first failed trial (or one
 * still running after `halfOpenMaxWait`) reopens it. Ignored errors free their slot.
 */
export class HalfOpenState extends BreakerStateBase {
  readonly state = CircuitState.HALF_OPEN;
  /** The trials in flight, oldest first. */
  private readonly trials: Trial[] = [];
  private successes = 0;

  admit(now: number): Admission | RejectionReason {
    if (this.overdue(now)) {
      this.reopenOverdue(now);
      return this.host.currentState().admit(now);
    }
    if (this.trials.length >= this.host.options.halfOpenMaxCalls) return 'half_open_full';
    const trial = new Trial(this, now);
    this.trials.push(trial);
    return trial;
  }

  override retryAfter(now: number): number {
    return this.trials.length === 0 ? 0 : this.trials[0].startedAt + this.host.options.halfOpenMaxWait - now;
  }

  override refresh(now: number): void {
    if (this.overdue(now)) this.reopenOverdue(now);
  }

  /** A slow trial (with a slow-call rate set) fails like any other. */
  trialSucceeded(trial: Trial, slow: boolean): void {
    this.release(trial);
    if (slow) this.host.enterOpen('trial_slow', true);
    else if (++this.successes >= this.host.options.halfOpenMaxCalls)
      this.host.enterClosed('trials_succeeded');
  }

  trialFailed(trial: Trial): void {
    this.release(trial);
    this.host.enterOpen('trial_failed', true);
  }

  release(trial: Trial): void {
    const i = this.trials.indexOf(trial);
    if (i !== -1) this.trials.splice(i, 1);
  }

  /** Reopens as of the moment the oldest trial overran, then catches up with the clock. */
  private reopenOverdue(now: number): void {
    this.host.enterOpen(
      'half_open_max_wait',
      true,
      this.trials[0].startedAt + this.host.options.halfOpenMaxWait,
    );
    this.host.currentState().refresh(now);
  }

  private overdue(now: number): boolean {
    return this.trials.length > 0 && now - this.trials[0].startedAt >= this.host.options.halfOpenMaxWait;
  }
}

/** Opened by hand: rejects every call and never recovers by itself. */
export class ForcedOpenState extends BreakerStateBase {
  readonly state = CircuitState.FORCED_OPEN;

  admit(): RejectionReason {
    return 'forced_open';
  }

  override retryAfter(): number {
    return this.host.options.openDuration;
  }
}

/** Switched off by hand: calls pass straight through and nothing is recorded. */
export class DisabledState extends BreakerStateBase {
  readonly state = CircuitState.DISABLED;

  admit(): Admission {
    return this;
  }
}
