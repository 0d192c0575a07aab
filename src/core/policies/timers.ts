import type { Clock } from '../clock';
import { runtimeTimers } from '../deadline-list';

/**
 * Where policies read the time and wait: tests inject a fake one that moves by hand instead
 * of sleeping. A policy starts a timer only while it waits (a retry delay, a queue, a total
 * timeout), never per call otherwise.
 * @publicApi
 */
export interface PolicyTimers extends Clock {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** A number in [0, 1): `Math.random` by default, seeded in tests. @publicApi */
export type RandomSource = () => number;

/** The wall clock and Node's timers. */
export const systemTimers: PolicyTimers = { now: () => Date.now(), ...runtimeTimers };

/**
 * Resolves after `ms`, or rejects with the signal's reason as soon as `signal` aborts: a
 * retry waiting for its next attempt stops when the call is given up.
 */
export function abortableDelay(timers: PolicyTimers, ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason as Error);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      timers.clearTimeout(handle);
      reject(signal?.reason as Error);
    };
    const handle = timers.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
