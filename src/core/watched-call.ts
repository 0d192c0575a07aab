import type { BreakerTimeoutError } from './errors';
import { CallSignal } from './policies/call-signal';

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
  /**
   * The call failed with `error`; told before the breaker classifies it, and after a timeout.
   * False: the failure is none of the callee's doing (its caller aborted it, it was never sent),
   * and the breaker does not count it, whatever its `isFailure` says. `'success'`: the callee
   * answered, and its caller's client made an error of the answer (axios, of a 404): a success
   * of the callee's, while the caller still gets `error`.
   */
  failed(error: unknown): boolean | void | 'success';
  /**
   * Optional: the error the call's caller gets for `error`, the one it failed with (`error`
   * itself, or what it stands for: a `fetch` redirected to an OPEN origin fails with a
   * `TypeError` whose `cause` is that origin's `BreakerOpenError`). Read only when the call has
   * failed and been counted (after `failed()`), never after its timeout; the breaker counts
   * `error` as `failed()` said. One that throws leaves its caller `error`.
   */
  errorForCaller?(error: unknown): unknown;
}

/** A call handed a signal its timeout aborts (as `S`); its value is a success. */
abstract class CallWithSignal<T, S> implements WatchedCall<T> {
  protected readonly signal = new CallSignal();

  constructor(protected readonly fn: (signal: S) => T | PromiseLike<T>) {}

  abstract start(): T | PromiseLike<T>;

  timedOut(error: BreakerTimeoutError): void {
    this.signal.abort(error);
  }

  failureOf(): undefined {
    return undefined;
  }

  failed(): void {}
}

/** What `execute(fn)` runs under a `timeout`: `fn` is handed an `AbortSignal` the timeout aborts. */
export class SignalledCall<T> extends CallWithSignal<T, AbortSignal> {
  start(): T | PromiseLike<T> {
    return this.fn(this.signal.signal);
  }
}

/**
 * @internal A call under a `timeout` handed a {@link CallSignal}, whose `AbortSignal` is made
 * only if read: making one costs ~2.5 µs on Node 20, most of a fast timed call, and few calls
 * read theirs (a decorated method, through `getCallSignal()`).
 */
export class LazySignalledCall<T> extends CallWithSignal<T, CallSignal> {
  start(): T | PromiseLike<T> {
    return this.fn(this.signal);
  }
}
