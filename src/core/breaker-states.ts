import type { ResolvedBreakerOptions } from './breaker-options';
import type { RejectionReason } from './breaker-events';
import { CircuitState } from './circuit-state';
import type { WindowTotals } from './sliding-window';

/** Floating-point slack when comparing weighted sums with thresholds. */
const EPSILON = 1e-9;

/** The breaker as its states see it: they decide, it carries the transition out. */
export interface StateHost {
  readonly options: ResolvedBreakerOptions;
  /** Records one outcome in the window; returns its totals after it. */
  record(now: number, failed: boolean, weight: number, slow: boolean): Readonly<WindowTotals>;
  /** Opens the breaker; `afterTrial` grows the open duration by `openBackoff`. */
  enterOpen(reason: string, now: number, afterTrial: boolean): void;
  enterClosed(reason: string, now: number): void;
  enterHalfOpen(now: number): void;
  /** The state in force now (a transition may have replaced the caller). */
  currentState(): BreakerStateBase;
}

/**
 * One state of the machine (resilience4j's design): whether a call may go, what an
 * outcome does, and which transitions are due by the clock alone. Each transition
 * installs a new object, so an outcome can tell whether the state it was admitted
 * under is still the one in force.
 */
export abstract class BreakerStateBase {
  abstract readonly state: CircuitState;

  constructor(protected readonly host: StateHost) {}

  /** Admits a call (null) or says why not. May move the breaker on first (a due trial). */
  abstract admit(now: number): RejectionReason | null;

  /** Milliseconds until a call may be admitted, for a rejection. */
  retryAfter(_now: number): number {
    return 0;
  }

  /** Carries out transitions the clock alone makes due. */
  refresh(_now: number): void {}

  onSuccess(_now: number, _durationMs: number, _startedAt: number): void {}

  onFailure(_now: number, _weight: number, _startedAt: number): void {}

  onIgnored(_startedAt: number): void {}

  /** Epoch ms the next trial is admitted, where that applies. */
  nextAttemptAt(): number | null {
    return null;
  }
}

/** Calls pass; each outcome is recorded and the thresholds are judged after every one. */
export class ClosedState extends BreakerStateBase {
  readonly state = CircuitState.CLOSED;

  admit(): null {
    return null;
  }

  override onSuccess(now: number, durationMs: number): void {
    const o = this.host.options;
    const slowAfter = o.slowCallDuration;
    const totals = this.host.record(now, false, 0, slowAfter !== undefined && durationMs >= slowAfter);
    // A success adds no failure: only a rate can open on it (it may bring the calls up to minimumCalls).
    if (o.failureRateThreshold !== undefined || o.slowCallRateThreshold !== undefined)
      this.judge(now, totals);
  }

  override onFailure(now: number, weight: number): void {
    this.judge(now, this.host.record(now, true, weight, false));
  }

  private judge(now: number, totals: Readonly<WindowTotals>): void {
    const reason = this.openingReason(totals);
    if (reason !== null) this.host.enterOpen(reason, now, false);
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

  admit(now: number): RejectionReason | null {
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

/**
 * Up to `halfOpenMaxCalls` trials run at once; extra callers are rejected, never queued.
 * `halfOpenMaxCalls` successes in a row close the breaker; the first failed trial (or one
 * still running after `halfOpenMaxWait`) reopens it. Ignored errors free their slot.
 */
export class HalfOpenState extends BreakerStateBase {
  readonly state = CircuitState.HALF_OPEN;
  /** Start times of the trials in flight, oldest first. */
  private readonly trials: number[] = [];
  private successes = 0;

  admit(now: number): RejectionReason | null {
    if (this.overdue(now)) {
      this.reopenOverdue(now);
      return this.host.currentState().admit(now);
    }
    if (this.trials.length >= this.host.options.halfOpenMaxCalls) return 'half_open_full';
    this.trials.push(now);
    return null;
  }

  override retryAfter(now: number): number {
    return this.trials.length === 0 ? 0 : this.trials[0] + this.host.options.halfOpenMaxWait - now;
  }

  override refresh(now: number): void {
    if (this.overdue(now)) this.reopenOverdue(now);
  }

  /** Reopens as of the moment the oldest trial overran, then catches up with the clock. */
  private reopenOverdue(now: number): void {
    this.host.enterOpen('half_open_max_wait', this.trials[0] + this.host.options.halfOpenMaxWait, true);
    this.host.currentState().refresh(now);
  }

  override onSuccess(now: number, durationMs: number, startedAt: number): void {
    this.release(startedAt);
    const o = this.host.options;
    if (o.slowCallRateThreshold !== undefined && durationMs >= (o.slowCallDuration as number)) {
      this.host.enterOpen('trial_slow', now, true);
    } else if (++this.successes >= o.halfOpenMaxCalls) {
      this.host.enterClosed('trials_succeeded', now);
    }
  }

  override onFailure(now: number, _weight: number, startedAt: number): void {
    this.release(startedAt);
    this.host.enterOpen('trial_failed', now, true);
  }

  override onIgnored(startedAt: number): void {
    this.release(startedAt);
  }

  private overdue(now: number): boolean {
    return this.trials.length > 0 && now - this.trials[0] >= this.host.options.halfOpenMaxWait;
  }

  private release(startedAt: number): void {
    const i = this.trials.indexOf(startedAt);
    if (i !== -1) this.trials.splice(i, 1);
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

  admit(): null {
    return null;
  }
}
