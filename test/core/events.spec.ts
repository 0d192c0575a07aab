import {
  T0,
  boom,
  breakerOn,
  deferred,
  fail,
  fakeClock,
  openByFailure,
  record,
  rejectionOf,
  succeed,
} from './breaker-test-kit';

describe('Breaker events', () => {
  let warn: jest.SpyInstance;

  beforeEach(() => {
    warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
  });

  afterEach(() => {
    warn.mockRestore();
  });

  describe('stateChange', () => {
    it('describes an automatic opening: from, to, reason, failure rate, time, not manual', async () => {
      const breaker = breakerOn(fakeClock(), { failureThreshold: 2 });
      const changes = record(breaker, 'stateChange');

      await succeed(breaker);
      await fail(breaker, 2);

      expect(changes).toEqual([
        {
          breaker: 'payments',
          from: 'closed',
          to: 'open',
          reason: 'failure_threshold',
          manual: false,
          actor: null,
          remote: false,
          failureRate: 2 / 3,
          at: T0,
        },
      ]);
    });

    it('describes every automatic transition of a recovery', async () => {
      const clock = fakeClock();
      const breaker = breakerOn(clock, { failureThreshold: 1, openDuration: 1_000 });
      const changes = record(breaker, 'stateChange');

      await openByFailure(breaker);
      clock.advance(1_000);
      await fail(breaker);
      clock.advance(1_000);
      await succeed(breaker);

      expect(changes.map(({ from, to, reason, manual, at }) => ({ from, to, reason, manual, at }))).toEqual([
        { from: 'closed', to: 'open', reason: 'failure_threshold', manual: false, at: T0 },
        { from: 'open', to: 'half_open', reason: 'open_duration_elapsed', manual: false, at: T0 + 1_000 },
        { from: 'half_open', to: 'open', reason: 'trial_failed', manual: false, at: T0 + 1_000 },
        { from: 'open', to: 'half_open', reason: 'open_duration_elapsed', manual: false, at: T0 + 2_000 },
        { from: 'half_open', to: 'closed', reason: 'trials_succeeded', manual: false, at: T0 + 2_000 },
      ]);
    });

    it('reports the failure rate each change leaves: the opening rate, then 0 once closed afresh', async () => {
      const clock = fakeClock();
      const breaker = breakerOn(clock, { failureThreshold: 3, openDuration: 1_000 });
      const changes = record(breaker, 'stateChange');

      await succeed(breaker);
      await fail(breaker, 3);
      clock.advance(1_000);
      await succeed(breaker);

      expect(changes.map(({ to, failureRate }) => ({ to, failureRate }))).toEqual([
        { to: 'open', failureRate: 3 / 4 },
        { to: 'half_open', failureRate: 3 / 4 },
        { to: 'closed', failureRate: 0 },
      ]);
    });

    it('marks a manual change as manual, with its reason and actor', async () => {
      const breaker = breakerOn(fakeClock(), { resetCooldown: 0 });
      const changes = record(breaker, 'stateChange');

      await breaker.trip('deploying', 'alice');
      await breaker.reset({ reason: 'deployed', actor: 'bob' });
      await breaker.disable('flaky test env', null);

      expect(
        changes.map(({ from, to, reason, manual, actor }) => ({ from, to, reason, manual, actor })),
      ).toEqual([
        { from: 'closed', to: 'forced_open', reason: 'deploying', manual: true, actor: 'alice' },
        { from: 'forced_open', to: 'closed', reason: 'deployed', manual: true, actor: 'bob' },
        { from: 'closed', to: 'disabled', reason: 'flaky test env', manual: true, actor: null },
      ]);
    });

    it('is not emitted by a manual action that changes nothing', async () => {
      const breaker = breakerOn(fakeClock());
      const changes = record(breaker, 'stateChange');

      await breaker.reset();

      expect(changes).toEqual([]);
    });
  });

  describe('control', () => {
    it('is emitted for every manual action, even one that changes nothing', async () => {
      const clock = fakeClock();
      const breaker = breakerOn(clock, { resetCooldown: 0 });
      const controls = record(breaker, 'control');

      await breaker.reset({ reason: 'r1', actor: 'ops' });
      await breaker.trip('t1', 'alice');
      await breaker.trip('t2', 'alice');
      await breaker.disable();
      await breaker.disable();

      expect(controls).toEqual([
        {
          breaker: 'payments',
          action: 'reset',
          from: 'closed',
          to: 'closed',
          reason: 'r1',
          actor: 'ops',
          at: T0,
        },
        {
          breaker: 'payments',
          action: 'trip',
          from: 'closed',
          to: 'forced_open',
          reason: 't1',
          actor: 'alice',
          at: T0,
        },
        {
          breaker: 'payments',
          action: 'trip',
          from: 'forced_open',
          to: 'forced_open',
          reason: 't2',
          actor: 'alice',
          at: T0,
        },
        {
          breaker: 'payments',
          action: 'disable',
          from: 'forced_open',
          to: 'disabled',
          reason: 'manual disable',
          actor: null,
          at: T0,
        },
        {
          breaker: 'payments',
          action: 'disable',
          from: 'disabled',
          to: 'disabled',
          reason: 'manual disable',
          actor: null,
          at: T0,
        },
      ]);
    });

    it('reports a lazily due HALF_OPEN as the state the action started from', async () => {
      const clock = fakeClock();
      const breaker = breakerOn(clock, { failureThreshold: 1, openDuration: 1_000 });
      await openByFailure(breaker);
      clock.advance(1_000);
      const controls = record(breaker, 'control');

      await breaker.trip();

      expect(controls[0]).toMatchObject({ from: 'half_open', to: 'forced_open' });
    });
  });

  describe('call events', () => {
    it("emits 'success' with the duration of the call", async () => {
      const clock = fakeClock();
      const breaker = breakerOn(clock);
      const successes = record(breaker, 'success');

      await breaker.execute(() => {
        clock.advance(42);
        return 'ok';
      });

      expect(successes).toEqual([{ breaker: 'payments', durationMs: 42 }]);
    });

    it("emits 'failure' with the error, its weight and the duration", async () => {
      const clock = fakeClock();
      const breaker = breakerOn(clock);
      const failures = record(breaker, 'failure');
      const error = boom();

      await breaker
        .execute(() => {
          clock.advance(7);
          throw error;
        })
        .catch(() => undefined);

      expect(failures).toEqual([{ breaker: 'payments', durationMs: 7, error, weight: 1 }]);
    });

    it('reach a listener that subscribes after calls ran untimed, with durations', async () => {
      const clock = fakeClock();
      const breaker = breakerOn(clock);
      await succeed(breaker, 2);
      await fail(breaker);
      const successes = record(breaker, 'success');
      const failures = record(breaker, 'failure');

      await breaker.execute(async () => {
        clock.advance(5);
        return 'ok';
      });
      await breaker
        .execute(async () => {
          clock.advance(9);
          throw boom();
        })
        .catch(() => undefined);

      expect(successes).toEqual([{ breaker: 'payments', durationMs: 5 }]);
      expect(failures).toEqual([expect.objectContaining({ durationMs: 9 })]);
    });

    it("emits 'rejected' with why the call was not admitted", async () => {
      const clock = fakeClock();
      const breaker = breakerOn(clock, { failureThreshold: 1, openDuration: 1_000 });
      const rejections = record(breaker, 'rejected');
      await openByFailure(breaker);
      await rejectionOf(breaker.execute(() => 'ok'));
      clock.advance(1_000);
      const trial = deferred();
      const running = breaker.execute(() => trial.promise);
      await rejectionOf(breaker.execute(() => 'ok'));
      trial.resolve('ok');
      await running;
      await breaker.trip();
      await rejectionOf(breaker.execute(() => 'ok'));

      expect(rejections).toEqual([
        { breaker: 'payments', reason: 'open' },
        { breaker: 'payments', reason: 'half_open_full' },
        { breaker: 'payments', reason: 'forced_open' },
      ]);
    });
  });

  describe('listeners', () => {
    it('stop receiving events once unsubscribed', async () => {
      const breaker = breakerOn(fakeClock());
      const listener = jest.fn();
      const off = breaker.on('success', listener);
      await succeed(breaker);

      off();
      await succeed(breaker);

      expect(listener).toHaveBeenCalledTimes(1);
    });

    it('keep the other listeners when one unsubscribes during an event', async () => {
      const breaker = breakerOn(fakeClock());
      const second = jest.fn();
      const off: () => void = breaker.on('success', () => off());
      breaker.on('success', second);

      await succeed(breaker, 2);

      expect(second).toHaveBeenCalledTimes(2);
    });

    it('that throw never break a call; the error becomes a process warning', async () => {
      const breaker = breakerOn(fakeClock(), { failureThreshold: 1 });
      const listenerError = new Error('listener bug');
      for (const event of ['success', 'failure', 'stateChange', 'rejected'] as const) {
        breaker.on(event, () => {
          throw listenerError;
        });
      }

      await expect(breaker.execute(() => 'ok')).resolves.toBe('ok');
      const error = boom();
      await expect(breaker.execute(() => Promise.reject(error))).rejects.toBe(error);
      expect(breaker.state).toBe('open');
      expect(await rejectionOf(breaker.execute(() => 'ok'))).toMatchObject({ code: 'BREAKER_OPEN' });

      expect(warn).toHaveBeenCalledTimes(4);
      expect(warn).toHaveBeenCalledWith(
        expect.stringContaining('A "success" listener failed: Error: listener bug'),
        {
          code: 'NEST_RESILIENCE_LISTENER',
        },
      );
      expect(warn.mock.calls.map(([message]) => String(message).split(' listener')[0])).toEqual([
        'A "success"',
        'A "stateChange"',
        'A "failure"',
        'A "rejected"',
      ]);
    });

    it('that throw never break a manual action', async () => {
      const breaker = breakerOn(fakeClock());
      breaker.on('control', () => {
        throw new Error('listener bug');
      });

      await expect(breaker.trip()).resolves.toBeUndefined();

      expect(breaker.state).toBe('forced_open');
      expect(warn).toHaveBeenCalledTimes(1);
    });

    it('that reject asynchronously during a call become a process warning too', async () => {
      const breaker = breakerOn(fakeClock());
      breaker.on('success', () => Promise.reject(new Error('async listener bug')));

      await expect(breaker.execute(() => 'ok')).resolves.toBe('ok');
      await new Promise(setImmediate);

      expect(warn).toHaveBeenCalledWith(expect.stringContaining('async listener bug'), {
        code: 'NEST_RESILIENCE_LISTENER',
      });
    });
  });

  describe('a manual action', () => {
    it('settles only after the promises returned by stateChange and control listeners settle', async () => {
      const breaker = breakerOn(fakeClock());
      const persisted = deferred<void>();
      const audited = deferred<void>();
      breaker.on('stateChange', () => persisted.promise);
      breaker.on('control', () => audited.promise);
      let settled = false;

      const trip = breaker.trip().then(() => {
        settled = true;
      });
      expect(breaker.state).toBe('forced_open');
      await new Promise(setImmediate);
      expect(settled).toBe(false);
      persisted.resolve();
      await new Promise(setImmediate);
      expect(settled).toBe(false);
      audited.resolve();
      await trip;

      expect(settled).toBe(true);
    });

    it('waits for control listeners even when the state does not change', async () => {
      const breaker = breakerOn(fakeClock());
      const audited = deferred<void>();
      breaker.on('control', () => audited.promise);
      let settled = false;

      const reset = breaker.reset().then(() => {
        settled = true;
      });
      await new Promise(setImmediate);
      expect(settled).toBe(false);
      audited.resolve();
      await reset;

      expect(settled).toBe(true);
    });
  });
});
