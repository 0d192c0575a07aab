import { Breaker } from '../../src/core/breaker';
import { BreakerOpenError } from '../../src/core/errors';
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

describe('Breaker transitions', () => {
  describe('CLOSED -> OPEN by failureThreshold', () => {
    it('stays closed below the failure threshold', async () => {
      const breaker = breakerOn(fakeClock(), { failureThreshold: 3 });

      await fail(breaker, 2);

      expect(breaker.snapshot()).toMatchObject({ state: 'closed', failures: 2, successes: 0, tripCount: 0 });
    });

    it('opens when the weighted failures reach the threshold', async () => {
      const breaker = breakerOn(fakeClock(), { failureThreshold: 3 });
      const changes = record(breaker, 'stateChange');

      await succeed(breaker, 4);
      await fail(breaker, 3);

      expect(breaker.snapshot()).toMatchObject({ state: 'open', failures: 3, successes: 4, tripCount: 1 });
      expect(changes).toEqual([
        expect.objectContaining({ from: 'closed', to: 'open', reason: 'failure_threshold' }),
      ]);
    });

    it('opens at the time of the failure when nothing reads call times (count window, no listener)', async () => {
      const clock = fakeClock();
      const breaker = breakerOn(clock, {
        failureThreshold: 2,
        window: { type: 'count', size: 10 },
        openDuration: 1_000,
      });

      clock.advance(500);
      await fail(breaker, 2);

      expect(breaker.snapshot()).toMatchObject({
        state: 'open',
        openedAt: T0 + 500,
        nextAttemptAt: T0 + 1_500,
      });
      clock.advance(1_000);
      expect(breaker.state).toBe('half_open');
    });

    it('opens after 5 failures by default', async () => {
      const breaker = breakerOn(fakeClock());

      await fail(breaker, 4);
      expect(breaker.state).toBe('closed');
      await fail(breaker);

      expect(breaker.snapshot()).toMatchObject({ state: 'open', failures: 5, tripCount: 1 });
    });

    it('judges the failure count without waiting for minimumCalls', async () => {
      const breaker = breakerOn(fakeClock(), { failureThreshold: 2, minimumCalls: 50 });

      await fail(breaker, 2);

      expect(breaker.state).toBe('open');
    });
  });

  describe('CLOSED -> OPEN by failureRateThreshold', () => {
    it('does not judge the rate before minimumCalls calls were made', async () => {
      const breaker = breakerOn(fakeClock(), { failureRateThreshold: 0.5, minimumCalls: 10 });

      await fail(breaker, 9);

      expect(breaker.snapshot()).toMatchObject({ state: 'closed', failures: 9, failureRate: 1 });
    });

    it('opens when the failure rate reaches the threshold (>=) at minimumCalls', async () => {
      const breaker = breakerOn(fakeClock(), { failureRateThreshold: 0.5, minimumCalls: 10 });
      const changes = record(breaker, 'stateChange');

      await fail(breaker, 5);
      await succeed(breaker, 4);
      expect(breaker.state).toBe('closed');
      await succeed(breaker);

      expect(breaker.snapshot()).toMatchObject({
        state: 'open',
        failures: 5,
        successes: 5,
        failureRate: 0.5,
      });
      expect(changes).toEqual([
        expect.objectContaining({ to: 'open', reason: 'failure_rate', failureRate: 0.5 }),
      ]);
    });

    it('stays closed while the failure rate is just under the threshold', async () => {
      const breaker = breakerOn(fakeClock(), { failureRateThreshold: 0.5, minimumCalls: 10 });

      await succeed(breaker, 6);
      await fail(breaker, 4);

      expect(breaker.snapshot()).toMatchObject({ state: 'closed', failureRate: 0.4 });
    });

    it('ignores the default failureThreshold of 5 when only a rate is set', async () => {
      const breaker = breakerOn(fakeClock(), { failureRateThreshold: 0.9, minimumCalls: 20 });

      await succeed(breaker, 10);
      await fail(breaker, 8);

      expect(breaker.snapshot()).toMatchObject({ state: 'closed', failures: 8 });
      expect(breaker.options.failureThreshold).toBeUndefined();
    });

    it('opens on an explicit failureThreshold as well as on the rate, whichever comes first', async () => {
      const breaker = breakerOn(fakeClock(), {
        failureRateThreshold: 0.9,
        minimumCalls: 20,
        failureThreshold: 3,
      });
      const changes = record(breaker, 'stateChange');

      await succeed(breaker, 10);
      await fail(breaker, 3);

      expect(breaker.state).toBe('open');
      expect(changes[0].reason).toBe('failure_threshold');
    });

    it("does not treat a preset's failureThreshold as explicit when a rate is set", async () => {
      const breaker = breakerOn(fakeClock(), { preset: 'llm', failureRateThreshold: 0.9, minimumCalls: 20 });

      await succeed(breaker, 10);
      await fail(breaker, 5);

      expect(breaker.snapshot()).toMatchObject({ state: 'closed', failures: 5 });
    });

    it('uses a failureThreshold from defaults as explicit when a rate is set', async () => {
      const breaker = new Breaker(
        'payments',
        { failureRateThreshold: 0.9, minimumCalls: 20 },
        { clock: fakeClock(), defaults: { failureThreshold: 2 } },
      );

      await succeed(breaker, 10);
      await fail(breaker, 2);

      expect(breaker.state).toBe('open');
    });
  });

  describe('OPEN', () => {
    it('rejects calls without running them, with the time left until a trial', async () => {
      const clock = fakeClock();
      const breaker = breakerOn(clock, { failureThreshold: 1, openDuration: 10_000 });
      await openByFailure(breaker);
      clock.advance(4_000);
      const fn = jest.fn(() => 'ok');

      const error = await rejectionOf(breaker.execute(fn));

      expect(fn).not.toHaveBeenCalled();
      expect(error).toBeInstanceOf(BreakerOpenError);
      expect(error).toMatchObject({
        code: 'BREAKER_OPEN',
        breaker: 'payments',
        state: 'open',
        retryAfterMs: 6_000,
      });
      expect(breaker.snapshot()).toMatchObject({ state: 'open', rejected: 1, failures: 1, tripCount: 1 });
    });

    it('stays open one millisecond before nextAttemptAt', async () => {
      const clock = fakeClock();
      const breaker = breakerOn(clock, { failureThreshold: 1, openDuration: 10_000 });
      await openByFailure(breaker);

      clock.advance(9_999);

      expect(breaker.state).toBe('open');
      expect(await rejectionOf(breaker.execute(() => 'ok'))).toMatchObject({
        state: 'open',
        retryAfterMs: 1,
      });
    });

    it('reads HALF_OPEN once the open duration has passed, without any call', async () => {
      const clock = fakeClock();
      const breaker = breakerOn(clock, { failureThreshold: 1, openDuration: 10_000 });
      const changes = record(breaker, 'stateChange');
      await openByFailure(breaker);

      clock.advance(10_000);

      expect(breaker.state).toBe('half_open');
      expect(changes.map((c) => [c.from, c.to, c.reason])).toEqual([
        ['closed', 'open', 'failure_threshold'],
        ['open', 'half_open', 'open_duration_elapsed'],
      ]);
    });

    it('reports the lazily due HALF_OPEN in snapshot()', async () => {
      const clock = fakeClock();
      const breaker = breakerOn(clock, { failureThreshold: 1, openDuration: 10_000 });
      await openByFailure(breaker);

      clock.advance(10_000);

      expect(breaker.snapshot()).toMatchObject({
        state: 'half_open',
        openedAt: T0,
        nextAttemptAt: null,
        tripCount: 1,
      });
    });

    it('lets the first call at nextAttemptAt through as a trial', async () => {
      const clock = fakeClock();
      const breaker = breakerOn(clock, { failureThreshold: 1, openDuration: 10_000 });
      await openByFailure(breaker);
      clock.advance(10_000);

      await expect(breaker.execute(() => 'trial')).resolves.toBe('trial');

      expect(breaker.snapshot()).toMatchObject({ state: 'closed', failures: 0, successes: 0, tripCount: 1 });
    });
  });

  describe('autoRecover: false', () => {
    it('stays OPEN however long it waits, until reset()', async () => {
      const clock = fakeClock();
      const breaker = breakerOn(clock, { failureThreshold: 1, openDuration: 1_000, autoRecover: false });
      await openByFailure(breaker);

      clock.advance(365 * 24 * 3_600_000);

      expect(breaker.snapshot()).toMatchObject({ state: 'open', openedAt: T0, nextAttemptAt: null });
      expect(await rejectionOf(breaker.execute(() => 'ok'))).toMatchObject({ state: 'open' });

      await breaker.reset();
      expect(breaker.state).toBe('closed');
      await expect(breaker.execute(() => 'ok')).resolves.toBe('ok');
    });
  });

  describe('HALF_OPEN -> CLOSED', () => {
    it('starts a fresh window when it closes', async () => {
      const clock = fakeClock();
      const breaker = breakerOn(clock, { failureThreshold: 3, openDuration: 1_000 });
      await succeed(breaker, 2);
      await fail(breaker, 3);
      expect(breaker.snapshot()).toMatchObject({ failures: 3, successes: 2 });
      clock.advance(1_000);

      await succeed(breaker);

      expect(breaker.snapshot()).toMatchObject({
        state: 'closed',
        failures: 0,
        successes: 0,
        calls: 0,
        failureRate: 0,
      });
      await fail(breaker, 2);
      expect(breaker.state).toBe('closed');
    });
  });
});
