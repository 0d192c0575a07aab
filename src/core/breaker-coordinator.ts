import type { CircuitState } from './circuit-state';

/** A transition a breaker made itself (from its window, a trial, or by hand), as its coordinator hears it. @publicApi */
export interface LocalTransition {
  breaker: string;
  from: CircuitState;
  to: CircuitState;
  reason: string;
  manual: boolean;
  actor: string | null;
  /** When, on the breaker's clock. */
  at: number;
  /** The open duration in force once the transition is made (grown by `openBackoff` after failed trials). */
  openDuration: number;
}

/**
 * A transition decided elsewhere (by another instance of the fleet), applied to a breaker
 * without being reported back to its coordinator. Times are on the breaker's clock.
 * @publicApi
 */
export type RemoteTransition =
  | {
      to: 'open';
      /** When the fleet opened it. */
      openedAt: number;
      /** When its open period ends (the first trial is admitted then). */
      until: number;
      openDuration: number;
      reason: string;
    }
  | {
      to: 'closed' | 'forced_open' | 'disabled';
      reason: string;
      manual: boolean;
      actor: string | null;
      /** When the fleet last opened it, for `resetCooldown`; null when unknown. */
      openedAt: number | null;
    };

/** How a trial call ended, for the coordinator that granted it. @publicApi */
export type TrialOutcome = 'success' | 'failure' | 'ignored';

/** A HALF_OPEN trial slot the coordinator granted: told once how the trial ended. @publicApi */
export interface TrialLease {
  settle(outcome: TrialOutcome): void;
}

/**
 * A HALF_OPEN trial the coordinator refused because the fleet's trials are taken, with how long
 * until the oldest of them is due to end (its lease expires): the rejected caller's retry time.
 * @publicApi
 */
export interface TrialRefusal {
  readonly retryAfterMs: number;
}

/**
 * Takes part in a breaker's decisions, beside the breaker's own state machine (a shared store
 * does, so that every instance of a service reaches one verdict). The breaker's local decision
 * always stands at once; the coordinator may replace it later through
 * `Breaker.applyRemote()`. It is never asked anything on the call path of a CLOSED or OPEN
 * breaker: only about transitions and HALF_OPEN trials.
 * @publicApi
 */
export interface BreakerCoordinator {
  /**
   * Told of every transition the breaker made itself, after it took effect locally. A manual
   * action's promise settles once the promise returned here has.
   */
  coordinate(transition: LocalTransition): void | Promise<void>;
  /**
   * Asked for a HALF_OPEN trial the breaker admitted locally, before the trial runs: resolves
   * to the lease it holds, or, when the trial may not run (the fleet's trials are taken), to a
   * `TrialRefusal` saying when to retry, or null; the caller is then rejected as
   * `half_open_full`. Must settle promptly (a shared store bounds it by its command timeout and
   * grants locally when it cannot ask).
   */
  claimTrial(breaker: string): Promise<TrialLease | TrialRefusal | null>;
}
