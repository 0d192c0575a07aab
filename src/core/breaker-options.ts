/** Names of the built-in presets. @publicApi */
export type PresetName = 'http' | 'llm' | 'database' | 'notification' | 'cache';

/**
 * The sliding window a breaker judges its failures in.
 * - `time`: the last `ms` milliseconds, kept as a ring of up to 60 buckets; a call leaves
 *   the window between `ms - bucket width` and `ms` after it was recorded.
 * - `count`: the last `size` calls.
 * @publicApi
 */
export type WindowOptions = { type: 'time'; ms: number } | { type: 'count'; size: number };

/**
 * When a breaker sheds calls: the event loop is busier than `utilization` and more than
 * `inFlight` calls already run through the breaker.
 * @publicApi
 */
export interface LoadShedOptions {
  /**
   * Event-loop utilisation (0..1], sampled every 500 ms, above which calls may be shed.
   * @default 0.85
   */
  utilization?: number;
  /**
   * Calls already running through this breaker (the new one not counted) above which calls
   * may be shed.
   * @default 100
   */
  inFlight?: number;
}

/**
 * How a breaker behaves. Every field is optional; the defaults are given per field.
 * @publicApi
 */
export interface BreakerOptions {
  /**
   * Weighted failures inside `window` that open the breaker.
   * With `failureRateThreshold` set, it applies only when given explicitly too.
   * @default 5
   */
  failureThreshold?: number;
  /** Failure rate (0..1] inside `window` that opens the breaker once `minimumCalls` were made. */
  failureRateThreshold?: number;
  /**
   * Calls inside `window` before a rate is judged.
   * @default 10
   */
  minimumCalls?: number;
  /** @default { type: 'time', ms: 60_000 } */
  window?: WindowOptions;
  /** A success that took at least this many ms is slow. */
  slowCallDuration?: number;
  /** Rate (0..1] of slow successes inside `window` that opens the breaker. */
  slowCallRateThreshold?: number;
  /**
   * How much one failure weighs.
   * @default timeouts 0.5, everything else 1
   */
  failureWeight?: (error: unknown) => number;
  /**
   * Which errors count as failures; the others are `ignored` and change nothing.
   * @default every error except one with an HTTP status below 500 (`status` or `getStatus()`)
   */
  isFailure?: (error: unknown) => boolean;
  /**
   * Milliseconds OPEN before a trial call is let through.
   * @default 30_000
   */
  openDuration?: number;
  /**
   * After each failed trial the open duration is multiplied by this, up to `openDurationMax`.
   * @default 1
   */
  openBackoff?: number;
  /** @default openDuration */
  openDurationMax?: number;
  /**
   * `false` keeps the breaker OPEN until `reset()`.
   * @default true
   */
  autoRecover?: boolean;
  /**
   * Trial calls admitted at once in HALF_OPEN; this many successes in a row close it.
   * @default 1
   */
  halfOpenMaxCalls?: number;
  /**
   * A trial still running after this many ms counts as failed and the breaker reopens.
   * @default openDuration
   */
  halfOpenMaxWait?: number;
  /**
   * Milliseconds per call, or `false`. A call over it has its `AbortSignal` aborted and fails
   * with `BreakerTimeoutError`.
   * @default false
   */
  timeout?: number | false;
  /**
   * A manual `reset()` of a breaker holding calls back (open, half-open, forced open) within
   * this many ms of its last opening is refused unless forced; a disabled or closed one's never is.
   * @default 60_000
   */
  resetCooldown?: number;
  /**
   * An OPEN or FORCED_OPEN critical breaker makes the health check fail.
   * @default false
   */
  critical?: boolean;
  /**
   * Refuse calls with `LoadShedError` (never counted as failures) while the process is
   * overloaded; `false` never sheds.
   * @default false
   */
  loadShed?: LoadShedOptions | false;
  /**
   * With a store that shares state (Redis): how many distinct instances must open the breaker
   * from their own windows, within `openDuration`, before it opens for the whole fleet. Below
   * it, an instance that opened stays OPEN by itself.
   * @default 1
   */
  fleetQuorum?: number;
  /**
   * With a store that shares state (Redis): whether this breaker's state is shared by the
   * fleet. `false` keeps it to this instance.
   * @default true
   */
  shared?: boolean;
  /** Named defaults for a kind of dependency, applied below `defaults` and own options. */
  preset?: PresetName;
}

/** Options after presets and defaults were applied and validated. */
export interface ResolvedBreakerOptions {
  readonly failureThreshold: number | undefined;
  readonly failureRateThreshold: number | undefined;
  readonly minimumCalls: number;
  readonly window: Readonly<WindowOptions>;
  readonly slowCallDuration: number | undefined;
  readonly slowCallRateThreshold: number | undefined;
  readonly failureWeight: (error: unknown) => number;
  readonly isFailure: (error: unknown) => boolean;
  readonly openDuration: number;
  readonly openBackoff: number;
  readonly openDurationMax: number;
  readonly autoRecover: boolean;
  readonly halfOpenMaxCalls: number;
  readonly halfOpenMaxWait: number;
  readonly timeout: number | false;
  readonly resetCooldown: number;
  readonly critical: boolean;
  readonly loadShed: Readonly<Required<LoadShedOptions>> | false;
  readonly fleetQuorum: number;
  readonly shared: boolean;
  readonly preset: PresetName | undefined;
}
