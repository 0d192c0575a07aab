/**
 * What `resetCooldown` guards: closing a breaker that is holding calls back because it opened
 * (OPEN, HALF_OPEN, FORCED_OPEN) soon after it opened, while the dependency is likely still
 * down. A reset that lets through no call the breaker holds back is never refused: resetting a
 * DISABLED breaker turns its protection back on, and resetting a CLOSED one starts a fresh window.
 */
import { ResetCooldownError } from '../../src/core/errors';
import { breakerOn, fail, fakeClock, openByFailure, record, rejectionOf } from './breaker-test-kit';

const COOLDOWN = { failureThreshold: 1, openDuration: 1_000, resetCooldown: 60_000 };

describe('resetCooldown', () => {
  it('lets a breaker disabled soon after it opened be reset, which turns its protection back on', async () => {
    const clock = fakeClock();
    const breaker = breakerOn(clock, COOLDOWN);
    await openByFailure(breaker);
    clock.advance(5_000);
    await breaker.disable('provider incident: let everything through');
    const controls = record(breaker, 'control');

    await breaker.reset({ reason: 'incident over', actor: 'bob' });

    expect(breaker.state).toBe('closed');
    expect(controls).toEqual([
      expect.objectContaining({ action: 'reset', from: 'disabled', to: 'closed', reason: 'incident over' }),
    ]);
    await fail(breaker);
    expect(breaker.state).toBe('open');
  });

  it('lets a breaker tripped and then disabled be reset within the cooldown', async () => {
    const clock = fakeClock();
    const breaker = breakerOn(clock, COOLDOWN);
    await breaker.trip('maintenance');
    clock.advance(1_000);
    await breaker.disable('maintenance done, let it all through');

    await breaker.reset();

    expect(breaker.snapshot()).toMatchObject({ state: 'closed', tripCount: 1 });
  });

  it('lets a breaker that opened and closed again be reset within the cooldown: a fresh window', async () => {
    const clock = fakeClock();
    const breaker = breakerOn(clock, { ...COOLDOWN, failureThreshold: 2 });
    await fail(breaker, 2);
    clock.advance(1_000);
    await breaker.execute(() => 'trial succeeds');
    await fail(breaker);
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', failures: 1 });

    await breaker.reset();

    expect(breaker.snapshot()).toMatchObject({ state: 'closed', failures: 0 });
  });

  it.each([
    ['open', 0],
    ['half_open', 1_000],
    ['forced_open', 0],
  ] as const)(
    'still refuses to close a breaker that is %s within the cooldown of its opening',
    async (state, after) => {
      const clock = fakeClock();
      const breaker = breakerOn(clock, COOLDOWN);
      if (state === 'forced_open') await breaker.trip();
      else await openByFailure(breaker);
      clock.advance(after);
      expect(breaker.state).toBe(state);

      const error = await rejectionOf(breaker.reset());

      expect(error).toBeInstanceOf(ResetCooldownError);
      expect(error).toMatchObject({ code: 'RESET_COOLDOWN', retryAfterMs: 60_000 - after });
      expect(breaker.state).toBe(state);
    },
  );

  it('refuses a breaker disabled and opened again by trip() within the cooldown of that trip', async () => {
    const clock = fakeClock();
    const breaker = breakerOn(clock, COOLDOWN);
    await breaker.disable('x');
    clock.advance(1_000);
    await breaker.trip('provider down again');
    clock.advance(1_000);

    expect(await rejectionOf(breaker.reset())).toMatchObject({
      code: 'RESET_COOLDOWN',
      retryAfterMs: 59_000,
    });
  });
});
