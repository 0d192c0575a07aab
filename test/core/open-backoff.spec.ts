import type { Breaker } from '../../src/core/breaker';
import { T0, breakerOn, fail, fakeClock, openByFailure, succeed, type FakeClock } from './breaker-test-kit';

/** Lets the open period pass and fails the trial; returns when the breaker reopened. */
async function failTrial(breaker: Breaker, clock: FakeClock): Promise<number> {
  clock.advance(breaker.snapshot().nextAttemptAt! - clock.now());
  await fail(breaker);
  return clock.now();
}

describe('Open duration backoff', () => {
  const options = { failureThreshold: 1, openDuration: 1_000, openBackoff: 2, openDurationMax: 5_000 };

  it('grows the open period 1x, 2x, 4x after failed trials, then caps it at openDurationMax', async () => {
    const clock = fakeClock();
    const breaker = breakerOn(clock, options);
    await openByFailure(breaker);
    expect(breaker.snapshot()).toMatchObject({
      openedAt: T0,
      nextAttemptAt: T0 + 1_000,
      openDuration: 1_000,
    });

    const periods: number[] = [];
    for (let i = 0; i < 4; i++) {
      const reopenedAt = await failTrial(breaker, clock);
      const { openedAt, nextAttemptAt } = breaker.snapshot();
      expect(openedAt).toBe(reopenedAt);
      periods.push(nextAttemptAt! - reopenedAt);
    }

    expect(periods).toEqual([2_000, 4_000, 5_000, 5_000]);
    expect(breaker.snapshot()).toMatchObject({ tripCount: 5, openDuration: 5_000 });
  });

  it('keeps the open period fixed with the default openBackoff of 1', async () => {
    const clock = fakeClock();
    const breaker = breakerOn(clock, { failureThreshold: 1, openDuration: 1_000 });
    await openByFailure(breaker);

    const reopenedAt = await failTrial(breaker, clock);

    expect(breaker.snapshot().nextAttemptAt).toBe(reopenedAt + 1_000);
  });

  it('resets the open period when the breaker closes', async () => {
    const clock = fakeClock();
    const breaker = breakerOn(clock, options);
    await openByFailure(breaker);
    await failTrial(breaker, clock);
    await failTrial(breaker, clock);
    expect(breaker.snapshot().openDuration).toBe(4_000);

    clock.advance(4_000);
    await succeed(breaker);
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', openDuration: 1_000 });
    await fail(breaker);

    expect(breaker.snapshot()).toMatchObject({ state: 'open', nextAttemptAt: clock.now() + 1_000 });
  });

  it('resets the open period on a manual reset', async () => {
    const clock = fakeClock();
    const breaker = breakerOn(clock, { ...options, resetCooldown: 0 });
    await openByFailure(breaker);
    await failTrial(breaker, clock);

    await breaker.reset();
    await fail(breaker);

    expect(breaker.snapshot().nextAttemptAt).toBe(clock.now() + 1_000);
  });

  it('grows the open period when halfOpenMaxWait reopens the breaker', async () => {
    const clock = fakeClock();
    const breaker = breakerOn(clock, { ...options, halfOpenMaxWait: 100 });
    await openByFailure(breaker);
    clock.advance(1_000);
    void breaker.execute(() => new Promise<string>(() => undefined));

    clock.advance(100);

    expect(breaker.snapshot()).toMatchObject({
      state: 'open',
      openDuration: 2_000,
      nextAttemptAt: clock.now() + 2_000,
    });
  });
});
