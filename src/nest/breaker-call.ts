import { AsyncLocalStorage } from 'node:async_hooks';
import { catchError, defer, from, isObservable, lastValueFrom, Observable, type Subscription } from 'rxjs';
import type { Breaker } from '../core/breaker';
import { defaultIsFailure } from '../core/default-predicates';
import { isResilienceError } from '../core/errors';
import { LazySignalledCall } from '../core/watched-call';
import { CallSignal } from '../core/policies/call-signal';
import { isRejection } from '../core/policies/policy-errors';
import { traceCall, traceError, traceFallback, type TracedSpan } from '../tracing/call-tracing';

/** Handles an error the breaker let through or produced; called with the error only. */
export type Recover = (error: unknown) => unknown;

/**
 * A call through a breaker (or a policy's total timeout), linked to the call it runs inside
 * of. Its `AbortSignal` is made when first read: signals are costly to create and most calls
 * never read theirs.
 */
class ActiveCall {
  /** Until what the method returned settles. */
  running = true;
  private combined: AbortSignal | undefined;

  constructor(
    /** Undefined for a call bounded by a policy's total timeout. */
    readonly breaker: Breaker | undefined,
    /**
     * Aborted when the breaker's `timeout` (or the policy's total timeout) ends the call; a
     * breaker without a `timeout` gives a signal that never aborts.
     */
    private readonly own: AbortSignal | CallSignal,
    readonly outer: ActiveCall | undefined,
  ) {}

  /**
   * Whether its own timeout ended the call: the breaker has settled it, while a call given up by
   * an outer one's timeout still runs in its breaker.
   */
  get timedOut(): boolean {
    return this.own.aborted;
  }

  /** The signal of the call, or of one it runs inside of, that was given up; undefined while none was. */
  givenUp(): { readonly reason: unknown } | undefined {
    return this.own.aborted ? this.own : this.outer?.givenUp();
  }

  /**
   * Aborted when the call is given up, by its own timeout or by that of a call it runs inside of
   * (an outer breaker's or policy's): work done for a caller that has gone stops.
   */
  get signal(): AbortSignal {
    let bounded = this.outer;
    while (bounded !== undefined && !(bounded.own instanceof CallSignal)) bounded = bounded.outer;
    if (!(this.own instanceof CallSignal)) return bounded?.signal ?? this.own;
    if (bounded === undefined) return this.own.signal;
    return (this.combined ??= AbortSignal.any([this.own.signal, bounded.signal]));
  }
}

/**
 * The breakers the current call path runs through, so that a breaker applied twice on one
 * path (a decorated handler calling a decorated method with the same breaker) counts the
 * call once: the inner application runs the call directly and the outer one records it.
 * Work the call scheduled (a timer, a promise left running) inherits this context too, and
 * may run after the call ended: only calls still running count.
 */
const activeCalls = new AsyncLocalStorage<ActiveCall>();

/** Whether `breaker` already protects a call that is running on this call path. */
function isActive(call: ActiveCall | undefined, breaker: Breaker): boolean {
  for (let c = call; c !== undefined; c = c.outer) {
    if (c.breaker === breaker && c.running && !c.timedOut) return true;
  }
  return false;
}

/**
 * Runs `invoke` through `breaker` as a call on this call path. It stops counting as running
 * (for nesting) when what `invoke` returned settles, or the breaker's timeout ends it,
 * whatever `invoke` left running in the background.
 */
function runActive(breaker: Breaker, outer: ActiveCall | undefined, invoke: () => unknown): Promise<unknown> {
  const run = (own: AbortSignal | CallSignal): unknown => {
    const call = new ActiveCall(breaker, own, outer);
    const end = () => {
      call.running = false;
    };
    let result: unknown;
    try {
      result = activeCalls.run(call, invoke);
    } catch (error) {
      end();
      throw error;
    }
    // The breaker handles the promise too: this handler adds no second unhandled rejection, nor hides one.
    if (result instanceof Promise) result.then(end, end);
    else end();
    return result;
  };
  return breaker.options.timeout === false
    ? breaker.execute(run)
    : breaker.executeWatched(new LazySignalledCall(run));
}

/**
 * The `AbortSignal` of the innermost protected call running now, inside a method decorated
 * with `@CircuitBreaker`, `@Timeout` or `@Resilient`: it is aborted when the breaker's
 * `timeout` or the policy's total timeout expires, or that of a protected call it runs inside
 * of (a decorated handler calling a decorated provider method). Pass it on
 * (`fetch(url, { signal: getCallSignal() })`) so that timed-out work stops.
 * `undefined` outside a protected call.
 * @publicApi
 */
export function getCallSignal(): AbortSignal | undefined {
  return activeCalls.getStore()?.signal;
}

/**
 * The former name of {@link getCallSignal}.
 * @publicApi
 */
export const getBreakerSignal = getCallSignal;

/** Runs `invoke` as a call bounded by a policy's total timeout, whose signal {@link getCallSignal} returns. */
export function runWithSignal<T>(call: CallSignal, invoke: () => T): T {
  return activeCalls.run(new ActiveCall(undefined, call, activeCalls.getStore()), invoke);
}

/**
 * Runs `invoke` through `breaker` and returns its result as a Promise (a sync result or
 * throw included). `recover` handles what a fallback serves: rejections, timeouts and
 * errors the breaker counts as failures; errors it ignores (HTTP 4xx) pass through.
 */
export function callThroughBreaker(
  breaker: Breaker,
  invoke: () => unknown,
  recover?: Recover,
): Promise<unknown> {
  const outer = activeCalls.getStore();
  // A nested application runs the call directly: the outer one records and traces it.
  const nested = isActive(outer, breaker);
  const span = nested ? undefined : traceCall(breaker);
  let result = nested ? new Promise((resolve) => resolve(invoke())) : runActive(breaker, outer, invoke);
  if (span !== undefined) result = result.catch((error: unknown) => traced(span, error));
  return recover === undefined
    ? result
    : result.catch((error: unknown) => serveFallback(breaker, error, recover, span));
}

/**
 * Runs the Observable `source()` returns through `breaker` when it is subscribed to, values
 * streaming through as they come (SSE included): the call is admitted at subscription and
 * its outcome recorded when the source completes or fails. Unsubscribing early ends the
 * call as a success, unless a timeout around it (a policy's total timeout, an outer breaker's)
 * gave the call up: a failure with that timeout's error; its own timeout unsubscribes the source.
 */
export function observeThroughBreaker(
  breaker: Breaker,
  source: () => Observable<unknown>,
  recover?: Recover,
): Observable<unknown> {
  return defer(() => {
    let span: TracedSpan | undefined;
    const guarded = new Observable<unknown>((subscriber) => {
      const outer = activeCalls.getStore();
      if (isActive(outer, breaker)) return source().subscribe(subscriber);
      span = traceCall(breaker);
      let inner: Subscription | undefined;
      let release: (() => void) | undefined;
      let fail: ((error: unknown) => void) | undefined;
      let left = false;
      runActive(
        breaker,
        outer,
        () =>
          new Promise<void>((resolve, reject) => {
            // Gone before the call started (a fleet's trial waits for its lease): nothing to run.
            if (left) return reject(LEFT_BEFORE_START);
            release = resolve;
            fail = reject;
            inner = source().subscribe({
              next: (value) => subscriber.next(value),
              error: reject,
              complete: resolve,
            });
          }),
      ).then(
        () => subscriber.complete(),
        (error: unknown) => {
          inner?.unsubscribe();
          if (span !== undefined) traceError(span, error);
          subscriber.error(error);
        },
      );
      return () => {
        left = true;
        inner?.unsubscribe();
        // Unsubscribed because a timeout around it gave the call up (a policy's, an outer breaker's): a failure.
        const givenUp = outer?.givenUp();
        if (givenUp === undefined) release?.();
        else fail?.(givenUp.reason);
      };
    });
    if (recover === undefined) return guarded;
    return guarded.pipe(
      catchError((error: unknown) => {
        const served = serveFallback(breaker, error, recover, span);
        return isObservable(served) ? served : from(Promise.resolve(served));
      }),
    );
  });
}

/**
 * How a call ends whose subscriber left before it started: it reaches nobody, and its status
 * (499, the client closed the request) makes the default `isFailure` ignore it: a HALF_OPEN
 * trial that never ran decides nothing.
 */
const LEFT_BEFORE_START = Object.assign(new Error('the subscriber left before the call started'), {
  status: 499,
});

/** What a method or a fallback returned, an Observable as the Promise of its last value. */
export function settle(value: unknown): unknown {
  return isObservable(value) ? lastValueFrom(value, { defaultValue: undefined }) : value;
}

/** Adds the event `error` stands for to `span`, and throws it on. */
function traced(span: TracedSpan, error: unknown): never {
  traceError(span, error);
  throw error;
}

/** Serves `error` with the fallback when a fallback should serve it; rethrows it otherwise. */
function serveFallback(breaker: Breaker, error: unknown, recover: Recover, span?: TracedSpan): unknown {
  if (!servedByFallback(breaker, error)) throw error;
  if (span !== undefined) traceFallback(span, breaker, error);
  return recover(error);
}

/**
 * Rejections (an open breaker, a full bulkhead, a rate limit, load shedding) and timeouts
 * always; other errors when the breaker counts them as failures (without a breaker: all but
 * HTTP 4xx).
 */
export function servedByFallback(breaker: Breaker | undefined, error: unknown): boolean {
  return (
    isRejection(error) ||
    isResilienceError(error, 'BREAKER_TIMEOUT') ||
    isResilienceError(error, 'TIMEOUT') ||
    (breaker === undefined ? defaultIsFailure(error) : breaker.countsAsFailure(error))
  );
}
