import { defer, isObservable, Observable, type Subscription } from 'rxjs';
import type { Breaker } from '../core/breaker';
import type { Policies } from '../core/policies/policies';
import {
  callThroughBreaker,
  observeThroughBreaker,
  runWithSignal,
  servedByFallback,
  settle,
  type Recover,
} from './breaker-call';

/** What a fallback served, told apart from what an attempt returned. */
class Served {
  constructor(readonly value: unknown) {}
}

/**
 * The breaker of a call through policies, or what creates it: a per-key breaker is created by
 * the call's first attempt, so a call the rate limit or the bulkhead refused creates none (and
 * a flood of refused keys evicts no one's breaker).
 */
export type PolicyBreaker = Breaker | (() => Breaker);

/**
 * Runs `invoke` through a method's policies, each attempt through `breaker` (if any) with
 * the total timeout's signal as the call's signal; the fallback serves what escapes them.
 * `instance` is `this` of the rate limit's key function.
 */
export function callThroughPolicies(
  policies: Policies,
  breakerOf: PolicyBreaker | undefined,
  invoke: () => unknown,
  recover: Recover | undefined,
  args: readonly unknown[],
  instance?: unknown,
): Promise<unknown> {
  // Undefined until the first attempt for a per-key breaker: only a rejection comes earlier.
  let breaker = typeof breakerOf === 'function' ? undefined : breakerOf;
  return policies.execute(
    (call, hold) => {
      if (breaker === undefined && typeof breakerOf === 'function') {
        try {
          breaker = breakerOf();
        } catch (error) {
          return Promise.reject(error);
        }
      }
      const through = breaker;
      // The breaker's timeout may fail the attempt while the method runs on: a bulkhead holds its slot for it.
      const work = hold === undefined ? invoke : () => heldBy(hold, invoke());
      const run = () =>
        through === undefined ? new Promise((resolve) => resolve(work())) : callThroughBreaker(through, work);
      return call === undefined ? run() : runWithSignal(call, run);
    },
    {
      args,
      instance,
      // Asked once an attempt failed: one that could not even create its breaker is not retried.
      retryOn: breakerOf && ((error) => breaker !== undefined && breaker.countsAsFailure(error)),
      fallback: recover && ((error) => settleFallback(breaker, error, recover)),
    },
  );
}

/** Hands what a method returned to `hold` when it is a promise, and returns it. */
function heldBy(hold: (work: Promise<unknown>) => void, result: unknown): unknown {
  if (result instanceof Promise) hold(result);
  return result;
}

/**
 * The Observable `source()` returns, run through a method's policies when subscribed to:
 * values stream through as they come, a retry subscribes to the source again, and the
 * call ends when an attempt completes. Unsubscribing ends the call as a success; the total
 * timeout unsubscribes the attempt, which its breaker counts as a failure.
 */
export function observeThroughPolicies(
  policies: Policies,
  breakerOf: PolicyBreaker | undefined,
  source: () => Observable<unknown>,
  recover: Recover | undefined,
  args: readonly unknown[],
  instance?: unknown,
): Observable<unknown> {
  return new Observable<unknown>((subscriber) => {
    let inner: Subscription | undefined;
    let release: (() => void) | undefined;
    let left = false;
    // As in callThroughPolicies: a per-key breaker is created by the first attempt.
    let breaker = typeof breakerOf === 'function' ? undefined : breakerOf;
    const subscribeOnce = (resolve: () => void, reject: (error: unknown) => void) => {
      // Gone while queued in a bulkhead or waiting out a retry's delay: no attempt is made.
      if (left) return resolve();
      release = resolve;
      if (typeof breakerOf === 'function') breaker ??= breakerOf();
      const attempt = breaker === undefined ? defer(source) : observeThroughBreaker(breaker, source);
      inner = attempt.subscribe({
        next: (value) => subscriber.next(value),
        error: reject,
        complete: resolve,
      });
    };
    policies
      .execute<unknown>(
        (call) =>
          new Promise<void>((resolve, reject) => {
            if (call === undefined) subscribeOnce(resolve, reject);
            else runWithSignal(call, () => subscribeOnce(resolve, reject));
          }),
        {
          args,
          instance,
          retryOn: breakerOf && ((error) => breaker !== undefined && breaker.countsAsFailure(error)),
          fallback: recover && ((error) => new Served(serveFallback(breaker, error, recover))),
        },
      )
      .then(
        (result) => {
          if (!(result instanceof Served)) return subscriber.complete();
          if (isObservable(result.value)) return void result.value.subscribe(subscriber);
          subscriber.next(result.value);
          subscriber.complete();
        },
        (error: unknown) => {
          inner?.unsubscribe();
          subscriber.error(error);
        },
      );
    return () => {
      left = true;
      inner?.unsubscribe();
      release?.();
    };
  });
}

function serveFallback(breaker: Breaker | undefined, error: unknown, recover: Recover): unknown {
  if (!servedByFallback(breaker, error)) throw error;
  return recover(error);
}

function settleFallback(breaker: Breaker | undefined, error: unknown, recover: Recover): unknown {
  return settle(serveFallback(breaker, error, recover));
}
