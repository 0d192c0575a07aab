import type { BreakerTimeoutError } from './errors';

/**
 * @internal A call that is told of its own outcome, run by `Breaker.executeWatched()`: one object
 * per call where `execute()` would take a layer of promises for each thing the caller adds
 * (outgoing HTTP counts a failure status and marks a caller's aborts, on every request).
 */
export interface WatchedCall<T> {
  /** Starts the call. */
  start(): T | PromiseLike<T>;
  /**
   * The breaker's `timeout` ended the call before it settled (its caller is rejected with
   * `error`): the call aborts what it started.
   */
  timedOut(error: BreakerTimeoutError): void;
  /**
   * The call settled with `value`: the error the breaker counts it as (its caller still gets
   * `value`), or undefined for a success. Also told after a timeout, when nothing is counted.
   */
  failureOf(value: T): unknown;
  /** The call failed with `error`; told before the breaker classifies it, and after a timeout. */
  failed(error: unknown): void;
}

/**
 * What `execute(fn)` runs under a `timeout`: `fn` is handed a signal the timeout aborts, and
 * its value is a success.
 */
export class SignalledCall<T> implements WatchedCall<T> {
  private readonly controller = new AbortController();

  constructor(private readonly fn: (signal: AbortSignal) => T | PromiseLike<T>) {}

  start(): T | PromiseLike<T> {
    return this.fn(this.controller.signal);
  }

  timedOut(error: BreakerTimeoutError): void {
    this.controller.abort(error);
  }

  failureOf(): undefined {
    return undefined;
  }

  failed(): void {}
}
