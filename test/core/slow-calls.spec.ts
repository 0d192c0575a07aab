import { breakerOn, fail, fakeClock, record, succeed, succeedAfter } from './breaker-test-kit';

describe('Slow calls', () => {
  const options = {
    window: { type: 'count', size: 4 },
    minimumCalls: 4,
    slowCallDuration: 100,
    slowCallRateThreshold: 0.5,
  } as const;

  it('opens when slow successes reach slowCallRateThreshold, judged after a success', async () => {
    const clock = fakeClock();
    const breaker = breakerOn(clock, options);
    const changes = record(breaker, 'stateChange');

    await succeed(breaker, 2);
    await succeedAfter(breaker, clock, 100);
    expect(breaker.state).toBe('closed');
    await succeedAfter(breaker, clock, 150);

    expect(breaker.snapshot()).toMatchObject({
      state: 'open',
      failures: 0,
      successes: 4,
      slowCalls: 2,
      slowCallRate: 0.5,
      tripCount: 1,
    });
    expect(changes).toEqual([
      expect.objectContaining({ from: 'closed', to: 'open', reason: 'slow_call_rate' }),
    ]);
  });

  it('counts a success of exactly slowCallDuration as slow and one just under as not', async () => {
    const clock = fakeClock();
    const breaker = breakerOn(clock, options);

    await succeedAfter(breaker, clock, 99);
    await succeedAfter(breaker, clock, 100);

    expect(breaker.snapshot()).toMatchObject({ slowCalls: 1, successes: 2 });
  });

  it('does not judge the slow-call rate before minimumCalls', async () => {
    const clock = fakeClock();
    const breaker = breakerOn(clock, options);

    await succeedAfter(breaker, clock, 500);
    await succeedAfter(breaker, clock, 500);
    await succeedAfter(breaker, clock, 500);

    expect(breaker.snapshot()).toMatchObject({ state: 'closed', slowCalls: 3, slowCallRate: 1 });
  });

  it('keeps slow successes and failures as separate counts', async () => {
    const clock = fakeClock();
    const breaker = breakerOn(clock, { ...options, failureThreshold: 10 });

    await succeedAfter(breaker, clock, 100);
    await fail(breaker);
    await succeed(breaker);

    expect(breaker.snapshot()).toMatchObject({
      state: 'closed',
      failures: 1,
      slowCalls: 1,
      successes: 2,
      calls: 3,
    });
  });

  it('does not count a slow failure as a slow call', async () => {
    const clock = fakeClock();
    const breaker = breakerOn(clock, { ...options, failureThreshold: 10 });

    await breaker
      .execute(() => {
        clock.advance(500);
        return Promise.reject(new Error('slow and failed'));
      })
      .catch(() => undefined);

    expect(breaker.snapshot()).toMatchObject({ failures: 1, slowCalls: 0 });
  });

  it('does nothing with slowness when no slow-call options are set', async () => {
    const clock = fakeClock();
    const breaker = breakerOn(clock, { window: { type: 'count', size: 4 }, minimumCalls: 4 });

    for (let i = 0; i < 4; i++) await succeedAfter(breaker, clock, 60_000);

    expect(breaker.snapshot()).toMatchObject({ state: 'closed', slowCalls: 0 });
  });
});
