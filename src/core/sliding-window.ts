import type { WindowRecord } from './breaker-snapshot';

/**
 * Running totals of a window. Windows keep them up to date (subtract on evict), so
 * reading them is O(1).
 */
export interface WindowTotals {
  /** Recorded calls: failed ones and successes. */
  calls: number;
  /** Calls that failed, unweighted. */
  failedCalls: number;
  /** Weighted failures. */
  failures: number;
  /** Slow successes. */
  slow: number;
}

/**
 * Where a breaker keeps the outcomes it judges. O(1) per recorded call; no storage that
 * grows with traffic.
 */
export interface SlidingWindow {
  /** Records one call (`weight` 0 and `failed` false for a success); returns the totals after it. */
  record(now: number, failed: boolean, weight: number, slow: boolean): Readonly<WindowTotals>;
  /** The totals as of `now` (expired outcomes evicted first). The object is reused: read, don't keep. */
  totals(now: number): Readonly<WindowTotals>;
  reset(): void;
  export(now: number): WindowRecord;
  /** Loads a persisted window, dropping what is older than the window as of `now`. */
  import(record: WindowRecord, now: number): void;
}

/** Float sums drift under subtract-on-evict; an empty window must read exactly zero. */
export function settle(totals: WindowTotals): void {
  if (totals.calls === 0) {
    totals.failedCalls = 0;
    totals.slow = 0;
  }
  if (totals.failedCalls === 0) totals.failures = 0;
}
