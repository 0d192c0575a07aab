import type { CircuitState } from './circuit-state';
import * as messages from './messages';

/** Stable codes carried by every {@link ResilienceError}. */
export type ResilienceErrorCode =
  | 'BREAKER_OPEN'
  | 'BREAKER_TIMEOUT'
  | 'RESET_COOLDOWN'
  | 'INVALID_BREAKER_OPTIONS'
  | 'INVALID_BREAKER_KEY'
  | 'INVALID_RATE_LIMIT_KEY'
  | 'TOO_MANY_BREAKERS'
  | 'TIMEOUT'
  | 'BULKHEAD_FULL'
  | 'RATE_LIMITED'
  | 'LOAD_SHED'
  | 'DEAD_LETTER_ARGUMENTS'
  | 'DEAD_LETTER_NOT_FOUND'
  | 'NO_REPLAYER'
  | 'REPLAY_IN_PROGRESS'
  | 'REPLAYED_NOT_REMOVED';

/**
 * Base class of every error the library throws. Check `code` (or use
 * {@link isResilienceError}) rather than `instanceof`: codes keep working when two copies
 * of the package are installed.
 * @publicApi
 */
export abstract class ResilienceError extends Error {
  abstract readonly code: ResilienceErrorCode;
  /** Brand that survives duplicate package copies. */
  readonly isResilienceError = true;
}

/**
 * Thrown by `execute` when the breaker does not let the call through.
 * Built without a stack trace: a rejection is an expected outcome on a hot path, and
 * capturing a stack costs more than the whole rest of the call.
 * @publicApi
 */
export class BreakerOpenError extends ResilienceError {
  declare readonly code: 'BREAKER_OPEN';
  /** Name of the breaker that rejected the call. */
  declare readonly breaker: string;
  /** The state that rejected it: `open`, `half_open` (no free trial slot) or `forced_open`. */
  declare readonly state: CircuitState;
  /** How long until a call may be let through again (a hint for `Retry-After`). */
  declare readonly retryAfterMs: number;

  constructor(breaker: string, state: CircuitState, retryAfterMs: number) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super();
    Error.stackTraceLimit = limit;
    // The stack Error captured (no frames) gives way to the one every BreakerOpenError has.
    delete (this as { stack?: string }).stack;
    fillBreakerOpenError(this, breaker, state, retryAfterMs);
  }

  /**
   * @internal The breaker's own way to build one: Error's constructor costs about a
   * microsecond even without stack frames, more than the rest of a rejection, so the fields
   * are set on an object of this class without running it.
   */
  static fast(breaker: string, state: CircuitState, retryAfterMs: number): BreakerOpenError {
    return fillBreakerOpenError(Object.create(BreakerOpenError.prototype), breaker, state, retryAfterMs);
  }
}

/**
 * Every field of a {@link BreakerOpenError}, however the object was made: the same values in
 * the same order, so both serialise alike.
 */
function fillBreakerOpenError(
  target: BreakerOpenError,
  breaker: string,
  state: CircuitState,
  retryAfterMs: number,
): BreakerOpenError {
  const error = target as { -readonly [K in keyof BreakerOpenError]: BreakerOpenError[K] };
  error.isResilienceError = true;
  error.message = messages.BREAKER_OPEN(breaker, state);
  error.breaker = breaker;
  error.state = state;
  error.retryAfterMs = retryAfterMs;
  error.code = 'BREAKER_OPEN';
  error.name = 'BreakerOpenError';
  error.stack = `BreakerOpenError: ${error.message}`;
  return target;
}

/**
 * The call took longer than the breaker's `timeout`; its `AbortSignal` was aborted.
 * @publicApi
 */
export class BreakerTimeoutError extends ResilienceError {
  readonly code = 'BREAKER_TIMEOUT' as const;
  override readonly name = 'BreakerTimeoutError';

  constructor(
    readonly breaker: string,
    readonly timeoutMs: number,
  ) {
    super(messages.BREAKER_TIMEOUT(breaker, timeoutMs));
  }
}

/**
 * A manual `reset()` of a breaker that is open, half-open or forced open came within `resetCooldown`
 * of its last opening.
 * @publicApi
 */
export class ResetCooldownError extends ResilienceError {
  readonly code = 'RESET_COOLDOWN' as const;
  override readonly name = 'ResetCooldownError';

  constructor(
    readonly breaker: string,
    /** How long until a reset without `force` is accepted. */
    readonly retryAfterMs: number,
  ) {
    super(messages.RESET_COOLDOWN(breaker, retryAfterMs));
  }
}

/** How long a shed call's caller is told to wait: the load is sampled every 500 ms. */
export const LOAD_SHED_RETRY_AFTER_MS = 1000;

/**
 * The breaker's `loadShed` refused the call: the event loop was busier than `utilization` and
 * more than `inFlight` calls were running through the breaker. The call never ran, and the
 * breaker does not count it as a failure. Built without stack frames, like a rejection:
 * shedding happens under load, where a stack costs most.
 * @publicApi
 */
export class LoadShedError extends ResilienceError {
  readonly code = 'LOAD_SHED' as const;
  override readonly name = 'LoadShedError';
  /** How long until a call may go through (a hint for `Retry-After`). */
  readonly retryAfterMs = LOAD_SHED_RETRY_AFTER_MS;

  constructor(
    /** Name of the breaker that shed the call. */
    readonly breaker: string,
    /** The event loop's utilisation sampled when the call was shed, 0..1. */
    readonly utilization: number,
    /** Calls running through the breaker when it was shed. */
    readonly inFlight: number,
  ) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(messages.LOAD_SHED(breaker, utilization, inFlight));
    Error.stackTraceLimit = limit;
  }
}

/**
 * Which options object a bad option sits in: a breaker's own options (`breaker`), the
 * module's `defaults`, the module options themselves, or one of their nested objects.
 * @publicApi
 */
export type OptionScope =
  'breaker' | 'defaults' | 'module' | 'registry' | 'store' | 'metrics' | 'admin' | 'http' | 'policy';

/**
 * An option has a bad value or an unknown key: a breaker's, or one of the module's.
 * @publicApi
 */
export class InvalidBreakerOptionsError extends ResilienceError {
  readonly code = 'INVALID_BREAKER_OPTIONS' as const;
  override readonly name = 'InvalidBreakerOptionsError';

  constructor(
    /** The breaker whose options are at fault; `undefined` for an option of another `scope`. */
    readonly breaker: string | undefined,
    /** The option at fault as written from the options object's root, e.g. `window.size` or `store.path`. */
    readonly key: string,
    readonly value: unknown,
    /** What was expected instead, in words. */
    readonly expected: string,
    /** Which options object it sits in. */
    readonly scope: OptionScope = 'breaker',
  ) {
    super(messages.INVALID_OPTION(scope, breaker, key, value, expected));
  }
}

/**
 * A per-key breaker was asked for with a key it cannot have: not a string or a number, or
 * longer than `MAX_KEY_LENGTH` characters. The call that asked fails with it.
 * @publicApi
 */
export class InvalidBreakerKeyError extends ResilienceError {
  readonly code = 'INVALID_BREAKER_KEY' as const;
  override readonly name = 'InvalidBreakerKeyError';

  constructor(
    /** The name the per-key breaker would be kept under. */
    readonly breaker: string,
    readonly value: unknown,
    /** What was expected instead, in words. */
    readonly expected: string,
  ) {
    super(messages.INVALID_KEY(breaker, value, expected));
  }
}

/**
 * A rate limit's `key` function gave a key no bucket can have: not a string or a number, or
 * longer than `MAX_KEY_LENGTH` characters (the rule of per-key breakers' keys). The call fails
 * with it before any policy: no method, no fallback, no dead letter, no token taken.
 * @publicApi
 */
export class InvalidRateLimitKeyError extends ResilienceError {
  readonly code = 'INVALID_RATE_LIMIT_KEY' as const;
  override readonly name = 'InvalidRateLimitKeyError';

  constructor(
    /** The policy whose rate limit was asked (`Class.method` for a decorator's). */
    readonly policy: string,
    readonly value: unknown,
    /** What was expected instead, in words. */
    readonly expected: string,
  ) {
    super(messages.INVALID_RATE_LIMIT_KEY(policy, value, expected));
  }
}

/**
 * The registry already holds `maxBreakers` named breakers and was asked for a new name.
 * Breaker names must come from code or configuration; values from requests belong in keys.
 * @publicApi
 */
export class TooManyBreakersError extends ResilienceError {
  readonly code = 'TOO_MANY_BREAKERS' as const;
  override readonly name = 'TooManyBreakersError';

  constructor(
    /** The name that was refused. */
    readonly breaker: string,
    /** The registry's `maxBreakers`. */
    readonly limit: number,
  ) {
    super(messages.TOO_MANY_BREAKERS(breaker, limit));
  }
}

/**
 * True for any error thrown by this library (optionally of one `code`), whichever copy of
 * the package threw it.
 * @publicApi
 */
export function isResilienceError(error: unknown, code?: ResilienceErrorCode): error is ResilienceError {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { isResilienceError?: unknown }).isResilienceError === true &&
    (code === undefined || (error as { code?: unknown }).code === code)
  );
}

/** @publicApi */
export const isBreakerOpenError = (error: unknown): error is BreakerOpenError =>
  isResilienceError(error, 'BREAKER_OPEN');

/** @publicApi */
export const isLoadShedError = (error: unknown): error is LoadShedError =>
  isResilienceError(error, 'LOAD_SHED');

/** @publicApi */
export const isBreakerTimeoutError = (error: unknown): error is BreakerTimeoutError =>
  isResilienceError(error, 'BREAKER_TIMEOUT');
