/**
 * Where a breaker with `loadShed` reads how busy the process is. Read on every call such a
 * breaker admits, so it must return a value it already holds, never measure.
 * @publicApi
 */
export interface LoadSampler {
  /** The event loop's recent utilisation, 0 (idle) to 1 (never idle). */
  utilization(): number;
  /** Ends its work (a timer); the module calls it when the app closes. */
  stop?(): void;
}
