import { boom, breakerOn, deferred, fail, fakeClock, openByFailure, record } from './breaker-test-kit';

describe('Late results', () => {
  describe('a call admitted while CLOSED that ends after the breaker opened', () => {
    it('changes nothing when it fails', async () => {
      const clock = fakeClock();
      const breaker = breakerOn(clock, { failureThreshold: 2, openDuration: 10_000 });
      const slow = deferred();
      const late = breaker.execute(() => slow.promise);
      await fail(breaker, 2);
      const before = breaker.snapshot();
      expect(before).toMatchObject({ state: 'open', failures: 2, tripCount: 1, inFlight: 1 });
      const changes = record(breaker, 'stateChange');

      const error = boom();
      slow.reject(error);
      await expect(late).rejects.toBe(error);

      expect(breaker.snapshot()).toEqual({ ...before, inFlight: 0 });
      expect(changes).toEqual([]);
    });

    it('changes nothing when it succeeds', async () => {
      const clock = fakeClock();
      const breaker = breakerOn(clock, { failureThreshold: 2, openDuration: 10_000 });
      const slow = deferred();
      const late = breaker.execute(() => slow.promise);
      await fail(breaker, 2);
      const before = breaker.snapshot();

      slow.resolve('late');
      await expect(late).resolves.toBe('late');

      expect(breaker.snapshot()).toEqual({ ...before, inFlight: 0 });
    });

    it('does not count as a failed trial when it fails during HALF_OPEN', async () => {
      const clock = fakeClock();
      const breaker = breakerOn(clock, { failureThreshold: 1, openDuration: 10_000 });
      const slow = deferred();
      const late = breaker.execute(() => slow.promise);
      await openByFailure(breaker);
      clock.advance(10_000);
      expect(breaker.state).toBe('half_open');

      slow.reject(boom());
      await late.catch(() => undefined);

      expect(breaker.snapshot()).toMatchObject({ state: 'half_open', tripCount: 1, failures: 1 });
      await expect(breaker.execute(() => 'trial')).resolves.toBe('trial');
      expect(breaker.state).toBe('closed');
    });

    it('does not count in the fresh window after the breaker closed again', async () => {
      const clock = fakeClock();
      const breaker = breakerOn(clock, { failureThreshold: 1, openDuration: 10_000 });
      const slow = deferred();
      const late = breaker.execute(() => slow.promise);
      await openByFailure(breaker);
      clock.advance(10_000);
      await breaker.execute(() => 'trial');
      expect(breaker.state).toBe('closed');

      slow.reject(boom());
      await late.catch(() => undefined);

      expect(breaker.snapshot()).toMatchObject({ state: 'closed', failures: 0, calls: 0, tripCount: 1 });
    });
  });

  describe('a call whose fn moves the breaker on before it returns a thenable', () => {
    it('does not count in the fresh CLOSED state that fn started', async () => {
      const breaker = breakerOn(fakeClock(), { failureThreshold: 1 });
      const error = boom();

      const call = breaker.execute(() => {
        void breaker.trip();
        void breaker.reset({ force: true });
        void breaker.execute(() => 'a call of the new state');
        return { then: (_: unknown, reject: (reason: unknown) => void) => reject(error) };
      });
      await expect(call).rejects.toBe(error);

      expect(breaker.snapshot()).toMatchObject({ state: 'closed', failures: 0, tripCount: 1 });
    });
  });

  describe('a trial admitted in HALF_OPEN that ends after halfOpenMaxWait reopened the breaker', () => {
    const options = {
      failureThreshold: 1,
      openDuration: 1_000,
      openBackoff: 2,
      openDurationMax: 8_000,
      halfOpenMaxWait: 500,
    };

    it('changes neither the state, nor the open period, nor tripCount when it succeeds', async () => {
      const clock = fakeClock();
      const breaker = breakerOn(clock, options);
      await openByFailure(breaker);
      clock.advance(1_000);
      const hung = deferred();
      const trial = breaker.execute(() => hung.promise);
      clock.advance(500);
      const before = breaker.snapshot();
      expect(before).toMatchObject({
        state: 'open',
        tripCount: 2,
        openDuration: 2_000,
        nextAttemptAt: clock.now() + 2_000,
      });
      const changes = record(breaker, 'stateChange');

      clock.advance(100);
      hung.resolve('late');
      await expect(trial).resolves.toBe('late');

      expect(breaker.snapshot()).toEqual({ ...before, inFlight: 0 });
      expect(changes).toEqual([]);
    });

    it('changes neither the state, nor the open period, nor tripCount when it fails', async () => {
      const clock = fakeClock();
      const breaker = breakerOn(clock, options);
      await openByFailure(breaker);
      clock.advance(1_000);
      const hung = deferred();
      const trial = breaker.execute(() => hung.promise);
      clock.advance(500);
      const before = breaker.snapshot();

      clock.advance(100);
      hung.reject(boom());
      await trial.catch(() => undefined);

      expect(breaker.snapshot()).toEqual({ ...before, inFlight: 0 });
    });

    it('does not decide the next HALF_OPEN period either', async () => {
      const clock = fakeClock();
      const breaker = breakerOn(clock, { ...options, halfOpenMaxCalls: 2 });
      await openByFailure(breaker);
      clock.advance(1_000);
      const hung = deferred();
      const trial = breaker.execute(() => hung.promise);
      clock.advance(500);
      expect(breaker.state).toBe('open');
      clock.advance(2_000);
      expect(breaker.state).toBe('half_open');

      hung.reject(boom());
      await trial.catch(() => undefined);

      expect(breaker.snapshot()).toMatchObject({ state: 'half_open', tripCount: 2, openDuration: 2_000 });
    });
  });
});
