import type { Breaker } from '../../src/core/breaker';
import type { BreakerOptions } from '../../src/core/breaker-options';
import { BreakerOpenError } from '../../src/core/errors';
import {
  breakerOn,
  deferred,
  fail,
  fakeClock,
  openByFailure,
  record,
  rejectionOf,
  succeed,
  succeedAfter,
  type FakeClock,
} from './breaker-test-kit';

const OPEN_MS = 1_000;

/** A breaker opened at T0 by one failure whose open period is over; nothing has asked it since. */
async function dueBreaker(options: BreakerOptions = {}): Promise<{ breaker: Breaker; clock: FakeClock }> {
  const clock = fakeClock();
  const breaker = breakerOn(clock, { failureThreshold: 1, openDuration: OPEN_MS, ...options });
  await openByFailure(breaker);
  clock.advance(OPEN_MS);
  return { breaker, clock };
}

/** The same, read once so that it is HALF_OPEN: the next caller is a trial. */
async function halfOpenBreaker(
  options: BreakerOptions = {},
): Promise<{ breaker: Breaker; clock: FakeClock }> {
  const due = await dueBreaker(options);
  if (due.breaker.state !== 'half_open') throw new Error(`expected half_open, it is ${due.breaker.state}`);
  return due;
}

describe('HALF_OPEN', () => {
  describe.each([1, 3])('with halfOpenMaxCalls %i under 1,000 concurrent callers', (maxCalls) => {
    it(`runs exactly ${maxCalls} trial(s) and rejects the rest with state half_open`, async () => {
      // Nobody read the state: the first caller moves the breaker to HALF_OPEN.
      const { breaker } = await dueBreaker({ halfOpenMaxCalls: maxCalls });
      const rejections = record(breaker, 'rejected');
      const gate = deferred();
      const fn = jest.fn(() => gate.promise);

      const calls = Array.from({ length: 1_000 }, () => breaker.execute(fn));
      expect(breaker.inFlight).toBe(maxCalls);
      gate.resolve('ok');
      const outcomes = await Promise.allSettled(calls);

      expect(fn).toHaveBeenCalledTimes(maxCalls);
      const fulfilled = outcomes.filter((o) => o.status === 'fulfilled');
      const rejected = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
      expect(fulfilled).toHaveLength(maxCalls);
      expect(rejected).toHaveLength(1_000 - maxCalls);
      expect(rejected[0].reason).toBeInstanceOf(BreakerOpenError);
      expect(rejected[0].reason).toMatchObject({ breaker: 'payments', state: 'half_open' });
      const shapes = new Set(
        rejected.map(
          ({ reason }) => `${reason instanceof BreakerOpenError} ${reason.breaker} ${reason.state}`,
        ),
      );
      expect(shapes).toEqual(new Set(['true payments half_open']));
      expect(rejections).toHaveLength(1_000 - maxCalls);
      expect(new Set(rejections.map((r) => r.reason))).toEqual(new Set(['half_open_full']));
      expect(breaker.snapshot()).toMatchObject({ state: 'closed', rejected: 1_000 - maxCalls, inFlight: 0 });
    });
  });

  it('tells a rejected caller how long the running trial may still take', async () => {
    const { breaker, clock } = await halfOpenBreaker({ halfOpenMaxWait: 5_000 });
    const trial = deferred();
    const running = breaker.execute(() => trial.promise);
    clock.advance(2_000);

    const error = await rejectionOf(breaker.execute(() => 'ok'));

    expect(error).toMatchObject({ state: 'half_open', retryAfterMs: 3_000 });
    expect((error as Error).message).toBe(
      'Circuit breaker "payments" is half_open and all its trial calls are taken',
    );
    trial.resolve('ok');
    await running;
  });

  it('closes after halfOpenMaxCalls successful trials in a row', async () => {
    const { breaker } = await halfOpenBreaker({ halfOpenMaxCalls: 3 });
    const changes = record(breaker, 'stateChange');

    await succeed(breaker, 2);
    expect(breaker.state).toBe('half_open');
    await succeed(breaker);

    expect(breaker.snapshot()).toMatchObject({
      state: 'closed',
      tripCount: 1,
      openedAt: null,
      nextAttemptAt: null,
    });
    expect(changes.map((c) => [c.from, c.to, c.reason])).toEqual([
      ['half_open', 'closed', 'trials_succeeded'],
    ]);
  });

  it('reopens on the first failed trial, even after other trials succeeded', async () => {
    const { breaker, clock } = await halfOpenBreaker({ halfOpenMaxCalls: 3 });
    const changes = record(breaker, 'stateChange');
    await succeed(breaker, 2);

    await fail(breaker);

    expect(breaker.snapshot()).toMatchObject({
      state: 'open',
      tripCount: 2,
      openedAt: clock.now(),
      nextAttemptAt: clock.now() + OPEN_MS,
    });
    expect(changes.map((c) => [c.from, c.to, c.reason])).toEqual([['half_open', 'open', 'trial_failed']]);
  });

  it('reopens on a failed trial whatever its weight', async () => {
    const light = new Error('light');
    const { breaker } = await halfOpenBreaker({ failureWeight: (e) => (e === light ? 0.01 : 1) });

    await fail(breaker, 1, light);

    expect(breaker.state).toBe('open');
  });

  it('frees the slot of a trial that ended in an ignored error and decides nothing', async () => {
    const { breaker } = await halfOpenBreaker();
    const notFound = { status: 404 };

    await fail(breaker, 1, notFound);

    expect(breaker.snapshot()).toMatchObject({ state: 'half_open', tripCount: 1, inFlight: 0 });
    await expect(breaker.execute(() => 'next trial')).resolves.toBe('next trial');
    expect(breaker.state).toBe('closed');
  });

  it('does not count trial outcomes in the window', async () => {
    const { breaker, clock } = await halfOpenBreaker({ halfOpenMaxCalls: 2 });
    expect(breaker.snapshot()).toMatchObject({ failures: 1, successes: 0, calls: 1 });

    await fail(breaker);
    expect(breaker.snapshot()).toMatchObject({ state: 'open', failures: 1, successes: 0, calls: 1 });
    clock.advance(OPEN_MS);
    await succeed(breaker);

    expect(breaker.snapshot()).toMatchObject({ state: 'half_open', failures: 1, successes: 0, calls: 1 });
  });

  describe('with slowCallDuration and slowCallRateThreshold', () => {
    it('reopens on a slow trial', async () => {
      const { breaker, clock } = await halfOpenBreaker({ slowCallDuration: 500, slowCallRateThreshold: 0.5 });
      const changes = record(breaker, 'stateChange');

      await succeedAfter(breaker, clock, 500);

      expect(breaker.snapshot()).toMatchObject({ state: 'open', tripCount: 2 });
      expect(changes.map((c) => c.reason)).toEqual(['trial_slow']);
    });

    it('closes on a trial just under slowCallDuration', async () => {
      const { breaker, clock } = await halfOpenBreaker({ slowCallDuration: 500, slowCallRateThreshold: 0.5 });

      await succeedAfter(breaker, clock, 499);

      expect(breaker.state).toBe('closed');
    });
  });

  describe('halfOpenMaxWait', () => {
    it('reopens when a trial is still running after halfOpenMaxWait', async () => {
      const { breaker, clock } = await halfOpenBreaker({ halfOpenMaxWait: 500 });
      const changes = record(breaker, 'stateChange');
      const hung = deferred();
      const trial = breaker.execute(() => hung.promise);

      clock.advance(499);
      expect(breaker.state).toBe('half_open');
      clock.advance(1);

      expect(breaker.snapshot()).toMatchObject({ state: 'open', tripCount: 2, openedAt: clock.now() });
      expect(changes.map((c) => [c.from, c.to, c.reason])).toEqual([
        ['half_open', 'open', 'half_open_max_wait'],
      ]);
      expect(await rejectionOf(breaker.execute(() => 'ok'))).toMatchObject({ state: 'open' });
      hung.resolve('too late');
      await trial;
    });

    it('defaults to openDuration', async () => {
      const { breaker, clock } = await halfOpenBreaker();
      const hung = deferred();
      const trial = breaker.execute(() => hung.promise);

      clock.advance(OPEN_MS);

      expect(breaker.options.halfOpenMaxWait).toBe(OPEN_MS);
      expect(breaker.state).toBe('open');
      hung.resolve('too late');
      await trial;
    });

    it('reopens at the moment halfOpenMaxWait elapsed even when nobody asks until later', async () => {
      const { breaker, clock } = await halfOpenBreaker({ halfOpenMaxWait: 500 });
      const trialStart = clock.now();
      const hung = deferred();
      const trial = breaker.execute(() => hung.promise);

      // The reopen was due at trialStart + 500 and its open period ended at trialStart + 1_500.
      clock.advance(2_000);

      expect(breaker.snapshot()).toMatchObject({
        state: 'half_open',
        tripCount: 2,
        openedAt: trialStart + 500,
      });
      await expect(breaker.execute(() => 'new trial')).resolves.toBe('new trial');
      expect(breaker.state).toBe('closed');
      hung.resolve('too late');
      await trial;
    });
  });
});
