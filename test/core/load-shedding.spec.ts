import { Breaker } from '../../src/core/breaker';
import type { BreakerOptions } from '../../src/core/breaker-options';
import {
  BreakerOpenError,
  InvalidBreakerOptionsError,
  isResilienceError,
  LoadShedError,
} from '../../src/core/errors';
import { EventLoopSampler, type MeasureUtilization } from '../../src/core/event-loop-sampler';
import { BreakerRegistry } from '../../src/core/registry';
import { deferred, fakeClock, record, rejectionOf } from './breaker-test-kit';

/** A sampler whose reading the test sets. */
function fakeSampler(utilization = 0) {
  const sampler = { value: utilization, reads: 0, utilization: () => (sampler.reads++, sampler.value) };
  return sampler;
}

function setup(options: BreakerOptions, utilization: number) {
  const clock = fakeClock();
  const loadSampler = fakeSampler(utilization);
  const breaker = new Breaker('payments', options, { clock, loadSampler });
  return { breaker, loadSampler, clock };
}

/** Starts `n` calls that stay running until the test resolves them. */
function occupy(breaker: Breaker, n: number) {
  const running = Array.from({ length: n }, () => deferred());
  const calls = running.map((d) => breaker.execute(() => d.promise));
  return {
    finish: async () => {
      for (const d of running) d.resolve('ok');
      await Promise.all(calls);
    },
  };
}

describe('Load shedding', () => {
  it('sheds a call when the event loop is busier than utilization and more than inFlight calls run', async () => {
    const { breaker } = setup({ loadShed: { utilization: 0.8, inFlight: 2 } }, 0.95);
    const busy = occupy(breaker, 3);
    const method = jest.fn(() => 'ran');

    const error = await rejectionOf(breaker.execute(method));

    expect(error).toBeInstanceOf(LoadShedError);
    expect(isResilienceError(error, 'LOAD_SHED')).toBe(true);
    expect(error).toMatchObject({ breaker: 'payments', retryAfterMs: 1000, utilization: 0.95, inFlight: 3 });
    expect((error as Error).message).toBe(
      'Circuit breaker "payments" shed the call: the event loop is 95% busy and 3 calls are running',
    );
    expect(method).not.toHaveBeenCalled();
    await busy.finish();
  });

  it('should say "1 call is running" when a single call runs', async () => {
    const { breaker } = setup({ loadShed: { utilization: 0.8, inFlight: 0 } }, 0.95);
    const busy = occupy(breaker, 1);

    const error = await rejectionOf(breaker.execute(() => 'ran'));

    expect((error as Error).message).toBe(
      'Circuit breaker "payments" shed the call: the event loop is 95% busy and 1 call is running',
    );
    await busy.finish();
  });

  it('lets the call through while no more than inFlight calls run, however busy the loop', async () => {
    const { breaker, loadSampler } = setup({ loadShed: { utilization: 0.8, inFlight: 2 } }, 1);
    const busy = occupy(breaker, 2);

    await expect(breaker.execute(() => 'ran')).resolves.toBe('ran');
    // The cheap comparison comes first: the sampler is not even read.
    expect(loadSampler.reads).toBe(0);
    await busy.finish();
  });

  it('lets the call through while the loop is not busier than utilization, however many calls run', async () => {
    const { breaker } = setup({ loadShed: { utilization: 0.8, inFlight: 0 } }, 0.8);
    const busy = occupy(breaker, 5);

    await expect(breaker.execute(() => 'ran')).resolves.toBe('ran');
    await busy.finish();
  });

  it('never counts a shed call as a failure: it is a rejection, reported as load_shed', async () => {
    const { breaker } = setup({ failureThreshold: 1, loadShed: { inFlight: 0 } }, 0.99);
    const rejected = record(breaker, 'rejected');
    const busy = occupy(breaker, 1);

    for (let i = 0; i < 5; i++) await rejectionOf(breaker.execute(() => 'ran'));
    await busy.finish();

    expect(breaker.state).toBe('closed');
    expect(breaker.snapshot()).toMatchObject({ failures: 0, successes: 1, rejected: 5, inFlight: 0 });
    expect(rejected).toEqual(Array(5).fill({ breaker: 'payments', reason: 'load_shed' }));
  });

  it('sheds a half-open trial without keeping its slot: the next trial is still admitted', async () => {
    const { breaker, clock, loadSampler } = setup(
      { failureThreshold: 1, openDuration: 1_000, halfOpenMaxCalls: 2, loadShed: { inFlight: 0 } },
      0,
    );
    await rejectionOf(breaker.execute(() => Promise.reject(new Error('down'))));
    clock.advance(1_000);
    const first = deferred();
    const running = breaker.execute(() => first.promise);
    loadSampler.value = 1;

    expect(await rejectionOf(breaker.execute(() => 'ran'))).toBeInstanceOf(LoadShedError);
    loadSampler.value = 0;
    // The shed call took no slot: the second of halfOpenMaxCalls (2) is free.
    await expect(breaker.execute(() => 'second')).resolves.toBe('second');
    first.resolve('ok');
    await running;
    expect(breaker.state).toBe('closed');
  });

  describe('sheds only a call its state would run: a state that rejects it answers for itself', () => {
    it('a forced-open breaker rejects with forced_open, as the operator who tripped it expects', async () => {
      const { breaker } = setup({ loadShed: { inFlight: 0 } }, 1);
      const busy = occupy(breaker, 1);
      await breaker.trip('incident');
      const rejected = record(breaker, 'rejected');

      const error = await rejectionOf(breaker.execute(() => 'ran'));

      expect(error).toBeInstanceOf(BreakerOpenError);
      expect(error).toMatchObject({ state: 'forced_open', retryAfterMs: 30_000 });
      expect(rejected).toEqual([{ breaker: 'payments', reason: 'forced_open' }]);
      await busy.finish();
    });

    it('an open breaker rejects with open and the time left of its open period', async () => {
      const { breaker, clock, loadSampler } = setup(
        { failureThreshold: 1, openDuration: 10_000, loadShed: { inFlight: 0 } },
        0,
      );
      const busy = occupy(breaker, 1);
      await rejectionOf(breaker.execute(() => Promise.reject(new Error('down'))));
      clock.advance(4_000);
      loadSampler.value = 1;

      const error = await rejectionOf(breaker.execute(() => 'ran'));

      expect(error).toBeInstanceOf(BreakerOpenError);
      expect(error).toMatchObject({ state: 'open', retryAfterMs: 6_000 });
      await busy.finish();
    });

    it('a half-open breaker whose trial slots are taken rejects with half_open_full', async () => {
      const { breaker, clock, loadSampler } = setup(
        { failureThreshold: 1, openDuration: 1_000, loadShed: { inFlight: 0 } },
        0,
      );
      await rejectionOf(breaker.execute(() => Promise.reject(new Error('down'))));
      clock.advance(1_000);
      const trial = deferred();
      const running = breaker.execute(() => trial.promise);
      loadSampler.value = 1;
      const rejected = record(breaker, 'rejected');

      expect(await rejectionOf(breaker.execute(() => 'ran'))).toMatchObject({ state: 'half_open' });
      expect(rejected).toEqual([{ breaker: 'payments', reason: 'half_open_full' }]);
      trial.resolve('ok');
      await running;
      expect(breaker.state).toBe('closed');
    });

    it('a disabled breaker, whose calls would run, still sheds them', async () => {
      const { breaker } = setup({ loadShed: { inFlight: 0 } }, 1);
      const busy = occupy(breaker, 1);
      await breaker.disable();

      expect(await rejectionOf(breaker.execute(() => 'ran'))).toBeInstanceOf(LoadShedError);
      await busy.finish();
    });
  });

  describe('in-flight accounting: a call leaves the count however it ends, or shedding would never stop', () => {
    afterEach(() => {
      jest.useRealTimers();
    });

    it('counts none of the calls that threw at once', async () => {
      const { breaker } = setup({ failureThreshold: 1_000, loadShed: { inFlight: 0 } }, 1);

      for (let i = 0; i < 20; i++) {
        await rejectionOf(
          breaker.execute(() => {
            throw new Error('sync');
          }),
        );
      }

      expect(breaker.inFlight).toBe(0);
      await expect(breaker.execute(() => 'ran')).resolves.toBe('ran');
    });

    it('counts none of the calls that timed out, even those that ignore their signal and end later', async () => {
      // The breaker's timeouts run on fake timers; a rejection is still delivered in a microtask.
      jest.useFakeTimers({ doNotFake: ['queueMicrotask'] });
      const clock = fakeClock();
      const loadSampler = fakeSampler(0);
      const breaker = new Breaker(
        'payments',
        { timeout: 100, failureThreshold: 1_000, loadShed: { inFlight: 0 } },
        { clock, loadSampler },
      );
      const hung = Array.from({ length: 10 }, () => deferred());
      const calls = hung.map((d) => rejectionOf(breaker.execute(() => d.promise)));
      const aborting = rejectionOf(
        breaker.execute(
          (signal) =>
            new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))),
        ),
      );
      expect(breaker.inFlight).toBe(11);
      loadSampler.value = 1;

      clock.advance(100);
      await jest.advanceTimersByTimeAsync(100);
      await Promise.all([...calls, aborting]);
      expect(breaker.inFlight).toBe(0);
      // Their late endings do not take the count below zero (which would let inFlight + n calls run).
      for (const d of hung) d.resolve('late');
      await Promise.resolve();
      expect(breaker.inFlight).toBe(0);

      const held = deferred();
      const running = breaker.execute(() => held.promise);
      expect(await rejectionOf(breaker.execute(() => 'ran'))).toBeInstanceOf(LoadShedError);
      held.resolve('ok');
      await running;
    });
  });

  it('uses the defaults utilization 0.85 and inFlight 100 for loadShed: {}', () => {
    expect(new Breaker('payments', { loadShed: {} }).options.loadShed).toEqual({
      utilization: 0.85,
      inFlight: 100,
    });
    expect(new Breaker('payments').options.loadShed).toBe(false);
  });

  it('gives every breaker of a registry the registry’s sampler', async () => {
    const loadSampler = fakeSampler(1);
    const registry = new BreakerRegistry({
      breakers: { search: { loadShed: { inFlight: 0 } } },
      loadSampler,
    });
    const breaker = registry.get('search');
    const busy = occupy(breaker, 1);

    expect(await rejectionOf(breaker.execute(() => 'ran'))).toBeInstanceOf(LoadShedError);
    await busy.finish();
  });

  it.each([
    [{ loadShed: true }, 'loadShed', '{ utilization?, inFlight? } or false'],
    [{ loadShed: { utilization: 0 } }, 'loadShed.utilization', 'a ratio in (0, 1]'],
    [{ loadShed: { utilization: 1.5 } }, 'loadShed.utilization', 'a ratio in (0, 1]'],
    [{ loadShed: { inFlight: -1 } }, 'loadShed.inFlight', 'an integer >= 0'],
    [{ loadShed: { inFlight: 2.5 } }, 'loadShed.inFlight', 'an integer >= 0'],
    [{ loadShed: { inflight: 10 } }, 'loadShed.inflight', 'no such option; known: utilization, inFlight'],
  ])('refuses %j naming the key and what was expected', (options, key, expected) => {
    const build = () => new Breaker('payments', options as BreakerOptions);
    expect(build).toThrow(InvalidBreakerOptionsError);
    expect(build).toThrow(expect.objectContaining({ breaker: 'payments', key, expected }));
  });
});

describe('EventLoopSampler', () => {
  beforeEach(() => {
    jest.useFakeTimers();
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  /** A measure whose cumulative readings the test sets: `active` of `elapsed` ms were busy. */
  function fakeMeasure() {
    const total = { active: 0, idle: 0 };
    const measure: MeasureUtilization = (current, previous) => {
      const now = current ?? { ...total, utilization: 0 };
      if (previous === undefined) return { ...now, utilization: 0 };
      const active = now.active - previous.active;
      const idle = now.idle - previous.idle;
      return { active, idle, utilization: active / (active + idle) };
    };
    return { total, measure };
  }

  it('reads 0 until its first sample, then the utilisation over the last interval', () => {
    const { total, measure } = fakeMeasure();
    const sampler = new EventLoopSampler(500, measure);

    expect(sampler.utilization()).toBe(0);
    total.active += 450;
    total.idle += 50;
    jest.advanceTimersByTime(500);
    expect(sampler.utilization()).toBeCloseTo(0.9);
    total.active += 100;
    total.idle += 400;
    jest.advanceTimersByTime(500);
    expect(sampler.utilization()).toBeCloseTo(0.2);
    sampler.stop();
  });

  it('warns once when the runtime never measures the loop (Bun, Deno read 0), as loadShed can then never shed', () => {
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const inert: MeasureUtilization = () => ({ idle: 0, active: 0, utilization: 0 });
    const sampler = new EventLoopSampler(500, inert);
    const other = new EventLoopSampler(500, inert);
    try {
      sampler.utilization();
      other.utilization();
      jest.advanceTimersByTime(1_500);

      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn).toHaveBeenCalledWith(
        expect.stringMatching(
          /^loadShed never sheds on this runtime: performance\.eventLoopUtilization\(\) /,
        ),
        { code: 'NEST_RESILIENCE_LOAD_SHED_UNMEASURED' },
      );
      expect(sampler.utilization()).toBe(0);
    } finally {
      sampler.stop();
      other.stop();
      warn.mockRestore();
    }
  });

  it('does not warn where the loop is measured, however idle', () => {
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const { total, measure } = fakeMeasure();
    const sampler = new EventLoopSampler(500, measure);
    try {
      sampler.utilization();
      total.idle += 500;
      jest.advanceTimersByTime(500);
      expect(warn).not.toHaveBeenCalled();
    } finally {
      sampler.stop();
      warn.mockRestore();
    }
  });

  it('holds no timer until it is first read, and none once stopped', () => {
    const { measure } = fakeMeasure();
    const sampler = new EventLoopSampler(500, measure);
    expect(jest.getTimerCount()).toBe(0);

    sampler.utilization();
    expect(jest.getTimerCount()).toBe(1);

    sampler.stop();
    sampler.utilization();
    expect(jest.getTimerCount()).toBe(0);
  });
});
