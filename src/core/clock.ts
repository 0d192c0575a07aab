/**
 * Where a breaker reads the time. Tests inject a fake one instead of sleeping.
 * @publicApi
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /**
   * A recent reading of `now()`: never ahead of it, at most a few milliseconds behind while
   * the event loop turns, and cheaper to read. A breaker uses it for one thing only: which
   * bucket of a time window the outcome of a call nobody timed falls in. Absent: `now()`.
   */
  coarseNow?(): number;
}

/** How long the system clock's coarse reading is reused. */
export const COARSE_CLOCK_RESOLUTION_MS = 10;

/** NaN while no fresh coarse reading is held. */
let coarse = NaN;

const expireCoarse = (): void => {
  coarse = NaN;
};

/**
 * The wall clock. Its coarse reading costs one `Date.now()` and one unref'd timer per
 * {@link COARSE_CLOCK_RESOLUTION_MS} while calls flow, and nothing when idle; a
 * `Date.now()` per call costs as much as the `await` a breaker wraps.
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  coarseNow: () => {
    if (coarse !== coarse) {
      coarse = Date.now();
      setTimeout(expireCoarse, COARSE_CLOCK_RESOLUTION_MS).unref();
    }
    return coarse;
  },
};
