import { Breaker } from '../../src/core/breaker';
import type { BreakerOptions } from '../../src/core/breaker-options';
import type { BreakerEventMap, BreakerEventName } from '../../src/core/breaker-events';
import type { Clock } from '../../src/core/clock';

/** Every test starts at this instant; it is a multiple of every bucket width the tests use. */
export const T0 = 1_000_000;

/** A clock the test moves by hand: tests never sleep. */
export interface FakeClock extends Clock {
  advance(ms: number): void;
}

export function fakeClock(start = T0): FakeClock {
  let t = start;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
  };
}

/** A breaker named `payments` on a fake clock. */
export function breakerOn(clock: Clock, options: BreakerOptions = {}): Breaker {
  return new Breaker('payments', options, { clock });
}

export const boom = (): Error => new Error('downstream failed');

/** Runs `times` calls that succeed at once. */
export async function succeed(breaker: Breaker, times = 1): Promise<void> {
  for (let i = 0; i < times; i++) await breaker.execute(() => 'ok');
}

/** Runs `times` calls that fail with `error`; any other rejection (a BreakerOpenError) fails the test. */
export async function fail(breaker: Breaker, times = 1, error: unknown = boom()): Promise<void> {
  for (let i = 0; i < times; i++) {
    await breaker
      .execute(() => Promise.reject(error))
      .then(
        () => {
          throw new Error('the call was expected to fail');
        },
        (e: unknown) => {
          if (e !== error) throw e;
        },
      );
  }
}

/** A success that takes `ms` on the fake clock. */
export function succeedAfter(breaker: Breaker, clock: FakeClock, ms: number): Promise<string> {
  return breaker.execute(() => {
    clock.advance(ms);
    return 'ok';
  });
}

/** What a rejected promise rejected with; fails the test when it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('the promise was expected to reject');
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

/** A promise the test settles by hand: a call that is still running. */
export function deferred<T = string>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Collects the payloads of one event. */
export function record<E extends BreakerEventName>(breaker: Breaker, event: E): Array<BreakerEventMap[E]> {
  const seen: Array<BreakerEventMap[E]> = [];
  breaker.on(event, (payload) => {
    seen.push(payload);
  });
  return seen;
}

/** Opens a breaker built with `failureThreshold: 1` by one failed call. */
export async function openByFailure(breaker: Breaker): Promise<void> {
  await fail(breaker);
  if (breaker.state !== 'open') throw new Error(`expected the breaker to open, it is ${breaker.state}`);
}

/**
 * A breaker whose timeout runs on Jest's fake timers (the one real timer in a breaker), its
 * clock moved with them by `advance` so that durations match.
 */
export function onFakeTimers(options: BreakerOptions) {
  const clock = fakeClock();
  const breaker = breakerOn(clock, options);
  const advance = async (ms: number) => {
    clock.advance(ms);
    await jest.advanceTimersByTimeAsync(ms);
  };
  return { breaker, clock, advance };
}
