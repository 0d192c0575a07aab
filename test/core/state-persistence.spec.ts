import type { BreakerOptions } from '../../src/core/breaker-options';
import {
  T0,
  breakerOn,
  fail,
  fakeClock,
  openByFailure,
  record,
  rejectionOf,
  succeed,
} from './breaker-test-kit';

/** The same breaker in a process started later: a new instance on a clock that reads `at`. */
function restarted(options: BreakerOptions, at: number) {
  const clock = fakeClock(at);
  return { breaker: breakerOn(clock, options), clock };
}

describe('exportState / restoreState', () => {
  const options = { failureThreshold: 1, openDuration: 10_000 };

  it('brings an OPEN breaker back OPEN with the open time that was left', async () => {
    const clock = fakeClock();
    const before = breakerOn(clock, options);
    await openByFailure(before);
    clock.advance(4_000);
    const saved = before.exportState();

    const after = restarted(options, T0 + 5_000);
    after.breaker.restoreState(saved);

    expect(after.breaker.snapshot()).toMatchObject({
      state: 'open',
      openedAt: T0,
      nextAttemptAt: T0 + 10_000,
      tripCount: 1,
    });
    after.clock.advance(4_999);
    expect(after.breaker.state).toBe('open');
    after.clock.advance(1);
    expect(after.breaker.state).toBe('half_open');
  });

  it('never keeps an OPEN breaker open longer than openDuration when the clock went back an hour', async () => {
    const clock = fakeClock(T0 + 3_600_000);
    const before = breakerOn(clock, { ...options, resetCooldown: 60_000 });
    await openByFailure(before);
    const saved = before.exportState();

    const after = restarted({ ...options, resetCooldown: 60_000 }, T0);
    after.breaker.restoreState(saved);

    expect(after.breaker.snapshot()).toMatchObject({
      state: 'open',
      openedAt: T0,
      nextAttemptAt: T0 + 10_000,
    });
    after.clock.advance(10_000);
    expect(after.breaker.state).toBe('half_open');
    after.clock.advance(50_000);
    await expect(after.breaker.reset()).resolves.toBeUndefined();
  });

  it('brings a HALF_OPEN breaker back OPEN for a fresh open period', async () => {
    const clock = fakeClock();
    const before = breakerOn(clock, options);
    await openByFailure(before);
    clock.advance(10_000);
    expect(before.state).toBe('half_open');
    const saved = before.exportState();
    expect(saved.state).toBe('half_open');

    const restartAt = T0 + 12_000;
    const after = restarted(options, restartAt);
    after.breaker.restoreState(saved);

    expect(after.breaker.snapshot()).toMatchObject({ state: 'open', nextAttemptAt: restartAt + 10_000 });
  });

  it('keeps a FORCED_OPEN breaker forced open', async () => {
    const before = breakerOn(fakeClock(), options);
    await before.trip('maintenance');

    const after = restarted(options, T0 + 3_600_000);
    after.breaker.restoreState(before.exportState());

    expect(after.breaker.state).toBe('forced_open');
    expect(await rejectionOf(after.breaker.execute(() => 'ok'))).toMatchObject({ state: 'forced_open' });
  });

  it('keeps a DISABLED breaker disabled', async () => {
    const before = breakerOn(fakeClock(), options);
    await before.disable();

    const after = restarted(options, T0 + 1_000);
    after.breaker.restoreState(before.exportState());
    await fail(after.breaker, 3);

    expect(after.breaker.state).toBe('disabled');
  });

  it('keeps the counters kept over life: tripCount and rejected', async () => {
    const clock = fakeClock();
    const before = breakerOn(clock, options);
    await openByFailure(before);
    await rejectionOf(before.execute(() => 'ok'));
    await rejectionOf(before.execute(() => 'ok'));

    const after = restarted(options, T0 + 1);
    after.breaker.restoreState(before.exportState());

    expect(after.breaker.snapshot()).toMatchObject({ tripCount: 1, rejected: 2 });
  });

  it('keeps the window counts still inside the window and drops the older ones, through JSON', async () => {
    const windowed = { failureThreshold: 10, window: { type: 'time', ms: 60_000 } } as const;
    const clock = fakeClock();
    const before = breakerOn(clock, windowed);
    await fail(before, 3);
    clock.advance(50_000);
    await fail(before, 1);
    await succeed(before, 2);
    const saved = before.exportState();
    expect(before.snapshot()).toMatchObject({ failures: 4, successes: 2 });

    const after = restarted(windowed, T0 + 65_000);
    after.breaker.restoreState(JSON.parse(JSON.stringify(saved)));

    expect(after.breaker.snapshot()).toMatchObject({ state: 'closed', failures: 1, successes: 2, calls: 3 });
  });

  it('keeps the outcomes of a count window', async () => {
    const counted = { failureThreshold: 3, window: { type: 'count', size: 5 }, minimumCalls: 5 } as const;
    const before = breakerOn(fakeClock(), counted);
    await fail(before, 2);
    await succeed(before);

    const after = restarted(counted, T0 + 3_600_000);
    after.breaker.restoreState(before.exportState());
    expect(after.breaker.snapshot()).toMatchObject({ failures: 2, successes: 1 });
    await fail(after.breaker);

    expect(after.breaker.state).toBe('open');
  });

  it('keeps an open duration grown by backoff', async () => {
    const backoff = { ...options, openBackoff: 2, openDurationMax: 40_000 };
    const clock = fakeClock();
    const before = breakerOn(clock, backoff);
    await openByFailure(before);
    clock.advance(10_000);
    await fail(before);
    expect(before.snapshot()).toMatchObject({ openDuration: 20_000, nextAttemptAt: clock.now() + 20_000 });

    const after = restarted(backoff, clock.now() + 1_000);
    after.breaker.restoreState(before.exportState());

    expect(after.breaker.snapshot()).toMatchObject({
      state: 'open',
      openDuration: 20_000,
      nextAttemptAt: clock.now() + 20_000,
    });
  });

  it('emits no events', async () => {
    const before = breakerOn(fakeClock(), options);
    await openByFailure(before);
    const after = restarted(options, T0 + 1);
    const changes = record(after.breaker, 'stateChange');
    const controls = record(after.breaker, 'control');

    after.breaker.restoreState(before.exportState());

    expect(after.breaker.state).toBe('open');
    expect(changes).toEqual([]);
    expect(controls).toEqual([]);
  });

  it('lets resetCooldown count from an opening before the restart', async () => {
    const cooled = { ...options, resetCooldown: 60_000 };
    const before = breakerOn(fakeClock(), cooled);
    await before.trip();

    const after = restarted(cooled, T0 + 20_000);
    after.breaker.restoreState(before.exportState());

    expect(await rejectionOf(after.breaker.reset())).toMatchObject({
      code: 'RESET_COOLDOWN',
      retryAfterMs: 40_000,
    });
  });
});
