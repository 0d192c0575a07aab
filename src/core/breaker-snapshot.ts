import type { CircuitState } from './circuit-state';

/**
 * What a breaker looks like now. `failures` (weighted), `successes`, `calls` and
 * `slowCalls` count inside the current window, which starts afresh when the breaker
 * closes; `rejected` and `tripCount` count over the breaker's life.
 * @publicApi
 */
export interface BreakerSnapshot {
  name: string;
  state: CircuitState;
  /** Weighted failures in the window. */
  failures: number;
  /** Successful calls in the window (slow ones included). */
  successes: number;
  /** Calls rejected over the breaker's life. */
  rejected: number;
  /** Weighted failures / calls in the window, 0 when there were no calls. */
  failureRate: number;
  /** Epoch ms the breaker last opened, while OPEN, HALF_OPEN or FORCED_OPEN; else null. */
  openedAt: number | null;
  /** Epoch ms a trial call will be admitted, while OPEN with autoRecover; else null. */
  nextAttemptAt: number | null;
  /** Openings over the breaker's life, manual ones included. */
  tripCount: number;
  /** Recorded calls in the window (failures and successes, not ignored ones). */
  calls: number;
  /** Slow successes in the window. */
  slowCalls: number;
  /** slowCalls / calls, 0 when there were no calls. */
  slowCallRate: number;
  /** Calls running now. */
  inFlight: number;
  /** The open duration the next opening would use (grows with `openBackoff`). */
  openDuration: number;
  critical: boolean;
}

/**
 * A sliding window as it is persisted: time buckets `[startMs, calls, failedCalls, failures, slow]`,
 * or count slots `[failureWeight, flags]` (bit 1 failed, bit 2 slow), oldest first.
 */
export type WindowRecord =
  | { type: 'time'; buckets: Array<[number, number, number, number, number]> }
  | { type: 'count'; outcomes: Array<[number, number]> };

/**
 * Everything a store keeps of a breaker to bring it back after a restart.
 * @publicApi
 */
export interface BreakerStateRecord {
  name: string;
  state: CircuitState;
  /** Epoch ms of the last opening (kept after it closes: `resetCooldown` counts from it). */
  openedAt: number | null;
  /** The current open duration, grown by backoff. */
  openDuration: number;
  tripCount: number;
  rejected: number;
  window: WindowRecord;
  /** Epoch ms this record was taken. */
  savedAt: number;
}
