import { BreakerOpenError, ResetCooldownError } from '../../src/core/errors';
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

const YEAR = 365 * 24 * 3_600_000;

describe('Manual control', () => {
  describe('trip()', () => {
    it('forces the breaker open at once: calls are rejected with state forced_open', async () => {
      const clock = fakeClock();
      const breaker = breakerOn(clock, { openDuration: 5_000 });
      const rejections = record(breaker, 'rejected');

      const done = breaker.trip('maintenance', 'alice');
      expect(breaker.state).toBe('forced_open');
      await done;
      const fn = jest.fn(() => 'ok');
      const error = await rejectionOf(breaker.execute(fn));

      expect(fn).not.toHaveBeenCalled();
      expect(error).toBeInstanceOf(BreakerOpenError);
      expect(error).toMatchObject({ state: 'forced_open', breaker: 'payments', retryAfterMs: 5_000 });
      expect(rejections).toEqual([{ breaker: 'payments', reason: 'forced_open' }]);
      expect(breaker.snapshot()).toMatchObject({
        state: 'forced_open',
        openedAt: T0,
        nextAttemptAt: null,
        tripCount: 1,
        rejected: 1,
      });
    });

    it('never recovers by itself', async () => {
      const clock = fakeClock();
      const breaker = breakerOn(clock, { openDuration: 1_000 });
      await breaker.trip();

      clock.advance(YEAR);

      expect(breaker.state).toBe('forced_open');
      expect(await rejectionOf(breaker.execute(() => 'ok'))).toMatchObject({ state: 'forced_open' });
    });

    it('forces open a breaker that was OPEN, so it no longer moves to HALF_OPEN', async () => {
      const clock = fakeClock();
      const breaker = breakerOn(clock, { failureThreshold: 1, openDuration: 1_000 });
      await openByFailure(breaker);

      await breaker.trip();
      clock.advance(1_000);

      expect(breaker.state).toBe('forced_open');
    });

    it('does not count a second trip as another opening', async () => {
      const breaker = breakerOn(fakeClock());
      await breaker.trip();

      await breaker.trip();

      expect(breaker.snapshot()).toMatchObject({ state: 'forced_open', tripCount: 1 });
    });

    it('forces open a DISABLED breaker', async () => {
      const breaker = breakerOn(fakeClock());
      await breaker.disable();

      await breaker.trip();

      expect(breaker.state).toBe('forced_open');
    });
  });

  describe('reset()', () => {
    it('closes the breaker at once with a fresh window', async () => {
      const clock = fakeClock();
      const breaker = breakerOn(clock, { failureThreshold: 2, resetCooldown: 0 });
      await succeed(breaker, 3);
      await fail(breaker, 2);
      expect(breaker.state).toBe('open');

      const done = breaker.reset();
      expect(breaker.state).toBe('closed');
      await done;

      expect(breaker.snapshot()).toMatchObject({
        state: 'closed',
        failures: 0,
        successes: 0,
        calls: 0,
        openedAt: null,
        nextAttemptAt: null,
        tripCount: 1,
      });
      await fail(breaker);
      expect(breaker.state).toBe('closed');
    });

    it('starts a fresh window when the breaker was already closed', async () => {
      const breaker = breakerOn(fakeClock(), { failureThreshold: 3 });
      await fail(breaker, 2);

      await breaker.reset();
      await fail(breaker, 2);

      expect(breaker.snapshot()).toMatchObject({ state: 'closed', failures: 2 });
    });

    it('is refused within resetCooldown of the last automatic opening, with the time left', async () => {
      const clock = fakeClock();
      const breaker = breakerOn(clock, { failureThreshold: 1, openDuration: 600_000, resetCooldown: 60_000 });
      await openByFailure(breaker);
      clock.advance(20_000);

      const error = await rejectionOf(breaker.reset());

      expect(error).toBeInstanceOf(ResetCooldownError);
      expect(error).toMatchObject({ code: 'RESET_COOLDOWN', breaker: 'payments', retryAfterMs: 40_000 });
      expect((error as Error).message).toBe(
        'Circuit breaker "payments" opened less than its resetCooldown ago; reset again in 40 s or pass { force: true }',
      );
      expect(breaker.snapshot()).toMatchObject({ state: 'open', openedAt: T0 });
    });

    it('judges the cooldown by the state as of now: a hung trial reopened the breaker', async () => {
      const clock = fakeClock();
      const breaker = breakerOn(clock, {
        failureThreshold: 1,
        openDuration: 100,
        halfOpenMaxWait: 400,
        resetCooldown: 500,
      });
      await openByFailure(breaker);
      clock.advance(100);
      void breaker.execute(() => new Promise(() => undefined));
      clock.advance(450);

      // The trial overran at 500 and the breaker reopened then: 50 ms ago, within the cooldown.
      expect(await rejectionOf(breaker.reset())).toMatchObject({
        code: 'RESET_COOLDOWN',
        retryAfterMs: 450,
      });
      expect(breaker.snapshot()).toMatchObject({ state: 'open', openedAt: T0 + 500, tripCount: 2 });
    });

    it('counts the cooldown from trip() too', async () => {
      const clock = fakeClock();
      const breaker = breakerOn(clock, { resetCooldown: 60_000 });
      await breaker.trip();
      clock.advance(10_000);

      expect(await rejectionOf(breaker.reset())).toMatchObject({
        code: 'RESET_COOLDOWN',
        retryAfterMs: 50_000,
      });
      expect(breaker.state).toBe('forced_open');
    });

    it('is accepted once resetCooldown has passed', async () => {
      const clock = fakeClock();
      const breaker = breakerOn(clock, { resetCooldown: 60_000 });
      await breaker.trip();
      clock.advance(60_000);

      await breaker.reset();

      expect(breaker.state).toBe('closed');
    });

    it('is accepted within the cooldown with force: true', async () => {
      const clock = fakeClock();
      const breaker = breakerOn(clock, { resetCooldown: 60_000 });
      await breaker.trip();
      clock.advance(1);

      await breaker.reset({ force: true, reason: 'fixed', actor: 'bob' });

      expect(breaker.state).toBe('closed');
      await expect(breaker.execute(() => 'ok')).resolves.toBe('ok');
    });

    it('changes nothing when refused, but reports the attempt as a control event', async () => {
      const breaker = breakerOn(fakeClock());
      await breaker.trip();
      const controls = record(breaker, 'control');
      const changes = record(breaker, 'stateChange');

      await rejectionOf(breaker.reset({ reason: 'looks fine', actor: 'bob' }));

      expect(breaker.state).toBe('forced_open');
      expect(changes).toEqual([]);
      expect(controls).toEqual([
        expect.objectContaining({
          action: 'reset',
          from: 'forced_open',
          to: 'forced_open',
          reason: 'refused by resetCooldown: looks fine',
          actor: 'bob',
        }),
      ]);
    });

    it('is accepted on a breaker that never opened', async () => {
      const breaker = breakerOn(fakeClock(), { resetCooldown: 60_000 });

      await expect(breaker.reset()).resolves.toBeUndefined();
    });
  });

  describe('disable()', () => {
    it('passes every call straight through and never opens, whatever fails', async () => {
      const breaker = breakerOn(fakeClock(), { failureThreshold: 1 });
      await breaker.disable();

      await fail(breaker, 100);
      await succeed(breaker);

      expect(breaker.snapshot()).toMatchObject({
        state: 'disabled',
        failures: 0,
        calls: 0,
        rejected: 0,
        tripCount: 0,
        openedAt: null,
        nextAttemptAt: null,
      });
    });

    it('lets calls through a breaker that was OPEN', async () => {
      const clock = fakeClock();
      const breaker = breakerOn(clock, { failureThreshold: 1 });
      await openByFailure(breaker);

      await breaker.disable();

      await expect(breaker.execute(() => 'through')).resolves.toBe('through');
      expect(breaker.snapshot()).toMatchObject({ state: 'disabled', openedAt: null });
    });

    it('stays disabled until reset()', async () => {
      const clock = fakeClock();
      const breaker = breakerOn(clock, { failureThreshold: 1 });
      await breaker.disable();
      clock.advance(YEAR);
      expect(breaker.state).toBe('disabled');

      await breaker.reset();
      await fail(breaker);

      expect(breaker.state).toBe('open');
    });
  });
});
