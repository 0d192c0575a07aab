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
 * Resolves after `ms`, or rejects with a signal's reason as soon as one of `signals` aborts: a
 * retry waiting for its next attempt stops when the call is given up, or its app closed.
 */
export function abortableDelay(
  timers: PolicyTimers,
  ms: number,
  ...signals: Array<AbortSignal | undefined>
): Promise<void> {
  const aborted = signals.find((signal) => signal?.aborted);
  if (aborted !== undefined) return Promise.reject(aborted.reason as Error);
  return new Promise((resolve, reject) => {
    const stopListening = () => {
      for (const signal of signals) signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = (event: Event) => {
      timers.clearTimeout(handle);
      stopListening();
      reject((event.target as AbortSignal).reason as Error);
    };
    const handle = timers.setTimeout(() => {
      stopListening();
      resolve();
    }, ms);
    for (const signal of signals) signal?.addEventListener('abort', onAbort, { once: true });
  });
}
