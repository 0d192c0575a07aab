import { AsyncLocalStorage } from 'node:async_hooks';
import { catchError, from, isObservable, Observable, type Subscription } from 'rxjs';
import type { Breaker } from '../core/breaker';
import { isResilienceError } from '../core/errors';

/** Handles an error the breaker let through or produced; called with the error only. */
export type Recover = (error: unknown) => unknown;

/** A call running through a breaker, linked to the call it runs inside of. */
interface ActiveCall {
  readonly breaker: Breaker;
  readonly signal: AbortSignal;
  readonly outer: ActiveCall | undefined;
}

/**
 * The breakers the current call path runs through, so that a breaker applied twice on one
 * path (a decorated handler calling a decorated method with the same breaker) counts the
 * call once: the inner application runs the call directly and the outer one records it.
 */
const activeCalls = new AsyncLocalStorage<ActiveCall>();

function isActive(call: ActiveCall | undefined, breaker: Breaker): boolean {
  for (let c = call; c !== undefined; c = c.outer) if (c.breaker === breaker) return true;
  return false;
}

/**
 * The `AbortSignal` of the innermost breaker call running now, inside a method decorated
 * with `@CircuitBreaker`: it is aborted when the breaker's `timeout` expires. Pass it on
 * (`fetch(url, { signal: getBreakerSignal() })`) so that timed-out work stops.
 * `undefined` outside a protected call.
 * @publicApi
 */
export function getBreakerSignal(): AbortSignal | undefined {
  return activeCalls.getStore()?.signal;
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
  const result = isActive(outer, breaker)
    ? new Promise((resolve) => resolve(invoke()))
    : breaker.execute((signal) => activeCalls.run({ breaker, signal, outer }, invoke));
  return recover === undefined
    ? result
    : result.catch((error: unknown) => serveFallback(breaker, error, recover));
}

/**
 * Runs the Observable `source()` returns through `breaker` when it is subscribed to, values
 * streaming through as they come (SSE included): the call is admitted at subscription and
 * its outcome recorded when the source completes or fails. Unsubscribing early ends the
 * call as a success; a timeout unsubscribes the source.
 */
export function observeThroughBreaker(
  breaker: Breaker,
  source: () => Observable<unknown>,
  recover?: Recover,
): Observable<unknown> {
  const guarded = new Observable<unknown>((subscriber) => {
    const outer = activeCalls.getStore();
    if (isActive(outer, breaker)) return source().subscribe(subscriber);
    let inner: Subscription | undefined;
    let release: (() => void) | undefined;
    breaker
      .execute((signal) =>
        activeCalls.run(
          { breaker, signal, outer },
          () =>
            new Promise<void>((resolve, reject) => {
              release = resolve;
              inner = source().subscribe({
                next: (value) => subscriber.next(value),
                error: reject,
                complete: resolve,
              });
            }),
        ),
      )
      .then(
        () => subscriber.complete(),
        (error: unknown) => {
          inner?.unsubscribe();
          subscriber.error(error);
        },
      );
    return () => {
      inner?.unsubscribe();
      release?.();
    };
  });
  if (recover === undefined) return guarded;
  return guarded.pipe(
    catchError((error: unknown) => {
      const served = serveFallback(breaker, error, recover);
      return isObservable(served) ? served : from(Promise.resolve(served));
    }),
  );
}

/** Serves `error` with the fallback when a fallback should serve it; rethrows it otherwise. */
function serveFallback(breaker: Breaker, error: unknown, recover: Recover): unknown {
  if (!servedByFallback(breaker, error)) throw error;
  return recover(error);
}

/** Rejections and timeouts always; other errors when the breaker counts them as failures. */
function servedByFallback(breaker: Breaker, error: unknown): boolean {
  return (
    isResilienceError(error, 'BREAKER_OPEN') ||
    isResilienceError(error, 'BREAKER_TIMEOUT') ||
    breaker.countsAsFailure(error)
  );
}
