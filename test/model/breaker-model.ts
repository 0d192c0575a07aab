import type { CircuitState } from '../../src/core/circuit-state';

/**
 * A reference model of DESIGN's breaker semantics, written for clarity, not speed: what a
 * breaker with these options must show after any sequence of calls, outcomes, clock moves,
 * manual actions and restarts. The property test runs the same commands against it and a
 * real breaker on a store.
 */
export interface ModelConfig {
  failureThreshold?: number;
  failureRateThreshold?: number;
  minimumCalls: number;
  window: { type: 'count'; size: number } | { type: 'time'; ms: number };
  openDuration: number;
  openBackoff: number;
  openDurationMax: number;
  halfOpenMaxCalls: number;
  halfOpenMaxWait: number;
  resetCooldown: number;
}

export type Outcome = { type: 'success' } | { type: 'failure'; weight: number } | { type: 'ignored' };

interface Recorded {
  at: number;
  failed: boolean;
  weight: number;
}

/** A call the model let through: the state it was admitted under, and its trial slot if any. */
export interface Admitted {
  readonly epoch: number;
  readonly trial: { readonly start: number } | null;
}

export interface Rejected {
  readonly state: CircuitState;
  readonly retryAfterMs: number;
}

/** What `snapshot()` must read. */
export interface ModelSnapshot {
  state: CircuitState;
  failures: number;
  successes: number;
  calls: number;
  rejected: number;
  tripCount: number;
  openedAt: number | null;
  nextAttemptAt: number | null;
  inFlight: number;
}

const EPSILON = 1e-9;

export class BreakerModel {
  private state: CircuitState = 'closed';
  /** Bumps whenever a state is installed: a call admitted under an older epoch is late. */
  private epoch = 0;
  private outcomes: Recorded[] = [];
  private openDuration: number;
  private until = 0;
  private lastOpenedAt: number | null = null;
  private tripCount = 0;
  private rejected = 0;
  private trials: Array<{ start: number }> = [];
  private trialSuccesses = 0;
  inFlight = 0;

  constructor(private readonly config: ModelConfig) {
    this.openDuration = config.openDuration;
  }

  /** Transitions the clock alone makes due by `now`. */
  refresh(now: number): void {
    if (this.state === 'open' && now >= this.until) this.install('half_open');
    if (
      this.state === 'half_open' &&
      this.trials.length > 0 &&
      now - this.trials[0].start >= this.config.halfOpenMaxWait
    ) {
      this.open(this.trials[0].start + this.config.halfOpenMaxWait, true);
      this.refresh(now);
    }
  }

  admit(now: number): Admitted | Rejected {
    this.refresh(now);
    const c = this.config;
    switch (this.state) {
      case 'closed':
      case 'disabled':
        this.inFlight++;
        return { epoch: this.epoch, trial: null };
      case 'half_open': {
        if (this.trials.length >= c.halfOpenMaxCalls)
          return this.reject(this.trials[0].start + c.halfOpenMaxWait - now);
        const trial = { start: now };
        this.trials.push(trial);
        this.inFlight++;
        return { epoch: this.epoch, trial };
      }
      case 'open':
        return this.reject(this.until - now);
      default:
        return this.reject(c.openDuration);
    }
  }

  settle(call: Admitted, outcome: Outcome, now: number): void {
    this.inFlight--;
    this.refresh(now);
    if (call.epoch !== this.epoch) return;
    if (call.trial !== null) {
      this.trials.splice(this.trials.indexOf(call.trial), 1);
      if (outcome.type === 'failure') this.open(now, true);
      else if (outcome.type === 'success' && ++this.trialSuccesses >= this.config.halfOpenMaxCalls)
        this.close();
      return;
    }
    if (this.state !== 'closed' || outcome.type === 'ignored') return;
    const failed = outcome.type === 'failure';
    this.outcomes.push({ at: now, failed, weight: failed ? outcome.weight : 0 });
    if (failed || this.config.failureRateThreshold !== undefined) this.judge(now);
  }

  trip(now: number): void {
    this.refresh(now);
    if (this.state === 'forced_open') return;
    this.tripCount++;
    this.lastOpenedAt = now;
    this.install('forced_open');
  }

  /** The cooldown left when refused, else 0: only a breaker holding calls back since it opened is refused. */
  reset(now: number, force: boolean): number {
    this.refresh(now);
    const holdsBack = this.state === 'open' || this.state === 'half_open' || this.state === 'forced_open';
    const left =
      this.lastOpenedAt === null || !holdsBack ? 0 : this.lastOpenedAt + this.config.resetCooldown - now;
    if (!force && left > 0) return left;
    this.close();
    return 0;
  }

  disable(now: number): void {
    this.refresh(now);
    if (this.state !== 'disabled') this.install('disabled');
  }

  /** A process restart on a store that keeps state: what `restoreState()` must bring back. */
  restartKeepingState(now: number): void {
    const c = this.config;
    this.openDuration = Math.min(Math.max(this.openDuration, c.openDuration), c.openDurationMax);
    this.trials = [];
    this.inFlight = 0;
    // OPEN keeps the open time that was left; HALF_OPEN reopens as of now for a fresh period.
    if (this.state === 'open') this.until = (this.lastOpenedAt ?? now) + this.openDuration;
    if (this.state === 'half_open') {
      this.state = 'open';
      this.lastOpenedAt = now;
      this.until = now + this.openDuration;
    }
    this.epoch++;
  }

  snapshot(now: number): ModelSnapshot {
    this.refresh(now);
    const inWindow = this.window(now);
    const failures = inWindow.reduce((sum, o) => sum + o.weight, 0);
    const failedCalls = inWindow.filter((o) => o.failed).length;
    const opened = this.state === 'open' || this.state === 'half_open' || this.state === 'forced_open';
    return {
      state: this.state,
      failures,
      successes: inWindow.length - failedCalls,
      calls: inWindow.length,
      rejected: this.rejected,
      tripCount: this.tripCount,
      openedAt: opened ? this.lastOpenedAt : null,
      nextAttemptAt: this.state === 'open' ? this.until : null,
      inFlight: this.inFlight,
    };
  }

  /** The outcomes a window holds at `now`: the last `size`, or those of the last `n` buckets. */
  private window(now: number): Recorded[] {
    const w = this.config.window;
    if (w.type === 'count') return this.outcomes.slice(-w.size);
    const n = Math.min(60, Math.max(10, Math.ceil(w.ms / 1000)));
    const width = w.ms / n;
    const head = Math.floor(now / width);
    return this.outcomes.filter((o) => Math.floor(o.at / width) > head - n);
  }

  private judge(now: number): void {
    const c = this.config;
    const inWindow = this.window(now);
    const calls = inWindow.length;
    const failures = inWindow.reduce((sum, o) => sum + o.weight, 0);
    const byCount = c.failureThreshold !== undefined && failures >= c.failureThreshold - EPSILON;
    const byRate =
      c.failureRateThreshold !== undefined &&
      calls >= c.minimumCalls &&
      failures / calls >= c.failureRateThreshold - EPSILON;
    if (byCount || byRate) this.open(now, false);
  }

  private open(at: number, afterTrial: boolean): void {
    const c = this.config;
    if (afterTrial) this.openDuration = Math.min(this.openDuration * c.openBackoff, c.openDurationMax);
    this.tripCount++;
    this.lastOpenedAt = at;
    this.until = at + this.openDuration;
    this.install('open');
  }

  private close(): void {
    this.outcomes = [];
    this.openDuration = this.config.openDuration;
    this.install('closed');
  }

  private install(state: CircuitState): void {
    this.state = state;
    this.epoch++;
    this.trials = [];
    this.trialSuccesses = 0;
  }

  private reject(retryAfterMs: number): Rejected {
    this.rejected++;
    return { state: this.state, retryAfterMs: Math.max(0, retryAfterMs) };
  }
}
