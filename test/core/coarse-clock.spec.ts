import { Breaker } from '../../src/core/breaker';
import { T0, fail } from './breaker-test-kit';

/**
 * A clock whose coarse reading lags behind the exact one: the coarse reading is in the bucket
 * [T0, T0 + 1 s), the exact one in the next (window of 10 s: buckets of 1 s).
 */
function laggingClock() {
  const clock = { exact: T0 + 1_100, coarse: T0 + 900 };
  return { clock, deps: { clock: { now: () => clock.exact, coarseNow: () => clock.coarse } } };
}
const window = { type: 'time', ms: 10_000 } as const;

describe('Breaker time window and the coarse clock', () => {
  it("buckets the outcomes of calls nobody times by the clock's coarse reading", async () => {
    const { clock, deps } = laggingClock();
    const breaker = new Breaker('payments', { window, failureThreshold: 100 }, deps);
    await breaker.execute(async () => 'ok');
    await fail(breaker);

    clock.exact = T0 + 9_999;
    expect(breaker.snapshot()).toMatchObject({ calls: 2, successes: 1, failures: 1 });
    // The bucket [T0, T0 + 1 s) leaves the window, and both outcomes with it.
    clock.exact = T0 + 10_000;
    expect(breaker.snapshot()).toMatchObject({ calls: 0 });
  });

  it('buckets a timed call (a listener wants its duration) by the exact time', async () => {
    const { clock, deps } = laggingClock();
    const breaker = new Breaker('payments', { window, failureThreshold: 100 }, deps);
    breaker.on('success', () => undefined);
    await breaker.execute(async () => 'ok');

    clock.exact = T0 + 10_000;
    expect(breaker.snapshot()).toMatchObject({ calls: 1, successes: 1 });
  });

  it('does not time a call for its timeout alone', async () => {
    const { clock, deps } = laggingClock();
    const breaker = new Breaker('payments', { window, failureThreshold: 100, timeout: 60_000 }, deps);
    await breaker.execute(async () => 'ok');

    clock.exact = T0 + 10_000;
    expect(breaker.snapshot()).toMatchObject({ calls: 0 });
  });

  it('opens at the exact time, whatever the coarse reading', async () => {
    const { clock, deps } = laggingClock();
    const breaker = new Breaker('payments', { window, failureThreshold: 1, openDuration: 5_000 }, deps);
    await fail(breaker);

    expect(breaker.snapshot()).toMatchObject({
      state: 'open',
      openedAt: clock.exact,
      nextAttemptAt: clock.exact + 5_000,
    });
  });

  it('puts an outcome whose coarse reading is older than the newest bucket in the newest bucket', async () => {
    const { clock, deps } = laggingClock();
    const breaker = new Breaker('payments', { window, failureThreshold: 100 }, deps);
    await breaker.execute(async () => 'first');
    breaker.snapshot(); // reads the exact time: the window's newest bucket is now [T0 + 1 s, T0 + 2 s)
    await breaker.execute(async () => 'second');

    clock.exact = T0 + 10_000;
    expect(breaker.snapshot()).toMatchObject({ calls: 1, successes: 1 });
  });
});
