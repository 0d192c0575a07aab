import {
  T0,
  breakerOn,
  deferred,
  fail,
  fakeClock,
  openByFailure,
  rejectionOf,
  succeed,
} from './breaker-test-kit';

describe('Breaker snapshot', () => {
  it('describes a new breaker with zero counts and no open period', () => {
    const breaker = breakerOn(fakeClock(), { critical: true, openDuration: 2_000 });

    expect(breaker.snapshot()).toEqual({
      name: 'payments',
      state: 'closed',
      failures: 0,
      successes: 0,
      rejected: 0,
      failureRate: 0,
      openedAt: null,
      nextAttemptAt: null,
      tripCount: 0,
      calls: 0,
      slowCalls: 0,
      slowCallRate: 0,
      inFlight: 0,
      openDuration: 2_000,
      critical: true,
    });
  });

  it('reports the weighted failure rate of the window', async () => {
    const breaker = breakerOn(fakeClock(), { failureThreshold: 100 });

    await succeed(breaker, 3);
    await fail(breaker);

    expect(breaker.snapshot()).toMatchObject({ failures: 1, successes: 3, calls: 4, failureRate: 0.25 });
  });

  it('gives openedAt and nextAttemptAt while OPEN', async () => {
    const clock = fakeClock();
    const breaker = breakerOn(clock, { failureThreshold: 1, openDuration: 10_000 });
    await openByFailure(breaker);

    clock.advance(3_000);

    expect(breaker.snapshot()).toMatchObject({ state: 'open', openedAt: T0, nextAttemptAt: T0 + 10_000 });
  });

  it('gives openedAt but no nextAttemptAt while HALF_OPEN', async () => {
    const clock = fakeClock();
    const breaker = breakerOn(clock, { failureThreshold: 1, openDuration: 10_000 });
    await openByFailure(breaker);

    clock.advance(10_000);

    expect(breaker.snapshot()).toMatchObject({ state: 'half_open', openedAt: T0, nextAttemptAt: null });
  });

  it('gives neither once the breaker closed again', async () => {
    const clock = fakeClock();
    const breaker = breakerOn(clock, { failureThreshold: 1, openDuration: 10_000 });
    await openByFailure(breaker);
    clock.advance(10_000);

    await succeed(breaker);

    expect(breaker.snapshot()).toMatchObject({ state: 'closed', openedAt: null, nextAttemptAt: null });
  });

  it('counts rejected calls and openings over the whole life of the breaker', async () => {
    const clock = fakeClock();
    const breaker = breakerOn(clock, { failureThreshold: 1, openDuration: 1_000, resetCooldown: 0 });
    for (let cycle = 0; cycle < 3; cycle++) {
      await openByFailure(breaker);
      await rejectionOf(breaker.execute(() => 'ok'));
      await rejectionOf(breaker.execute(() => 'ok'));
      clock.advance(1_000);
      await succeed(breaker);
    }
    await breaker.trip();
    await rejectionOf(breaker.execute(() => 'ok'));
    await breaker.reset();

    expect(breaker.snapshot()).toMatchObject({
      state: 'closed',
      rejected: 7,
      tripCount: 4,
      failures: 0,
      calls: 0,
    });
  });

  it('shows calls in flight', async () => {
    const breaker = breakerOn(fakeClock());
    const slow = deferred();
    const call = breaker.execute(() => slow.promise);

    expect(breaker.snapshot().inFlight).toBe(1);
    expect(breaker.inFlight).toBe(1);
    slow.resolve('ok');
    await call;
    expect(breaker.snapshot().inFlight).toBe(0);
  });

  it('bumps version on every recorded outcome and transition, and not on a read', async () => {
    const breaker = breakerOn(fakeClock(), { failureThreshold: 2 });
    const v0 = breaker.version;

    breaker.snapshot();
    expect(breaker.version).toBe(v0);
    await succeed(breaker);
    const v1 = breaker.version;
    expect(v1).toBeGreaterThan(v0);
    await fail(breaker, 2);

    expect(breaker.version).toBeGreaterThan(v1);
  });
});
