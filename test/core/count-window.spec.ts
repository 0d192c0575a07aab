import { CountWindow } from '../../src/core/count-window';
import { breakerOn, fail, fakeClock, succeed, succeedAfter } from './breaker-test-kit';

const NOW = 0;
const success = (w: CountWindow, slow = false) => w.record(NOW, false, 0, slow);
const failure = (w: CountWindow, weight = 1) => w.record(NOW, true, weight, false);

describe('CountWindow', () => {
  it('counts calls, failed calls, weighted failures and slow successes', () => {
    const window = new CountWindow(5);

    failure(window);
    failure(window, 0.5);
    success(window, true);
    success(window);

    expect(window.totals()).toEqual({ calls: 4, failedCalls: 2, failures: 1.5, slow: 1 });
  });

  it('keeps exactly the last `size` calls: the next one evicts the oldest', () => {
    const window = new CountWindow(3);
    failure(window);
    success(window);
    success(window);
    expect(window.totals()).toEqual({ calls: 3, failedCalls: 1, failures: 1, slow: 0 });

    success(window);

    expect(window.totals()).toEqual({ calls: 3, failedCalls: 0, failures: 0, slow: 0 });
  });

  it('evicts slow successes and weights with their slot', () => {
    const window = new CountWindow(2);
    success(window, true);
    failure(window, 0.5);

    success(window);
    expect(window.totals()).toEqual({ calls: 2, failedCalls: 1, failures: 0.5, slow: 0 });
    success(window);
    expect(window.totals()).toEqual({ calls: 2, failedCalls: 0, failures: 0, slow: 0 });
  });

  it('keeps running totals right over many laps of the ring', () => {
    const window = new CountWindow(4);
    for (let i = 0; i < 1_001; i++) {
      if (i % 2 === 0) failure(window, 0.5);
      else success(window, i % 4 === 1);
    }

    // The last four calls are i = 997 (slow success), 998 (failure), 999 (success), 1000 (failure).
    expect(window.totals()).toEqual({ calls: 4, failedCalls: 2, failures: 1, slow: 1 });
  });

  it('reads exactly zero weighted failures once the last failure was evicted', () => {
    const window = new CountWindow(3);
    failure(window, 0.1);
    failure(window, 0.2);
    success(window);

    success(window);
    success(window);

    expect(window.totals()).toEqual({ calls: 3, failedCalls: 0, failures: 0, slow: 0 });
  });

  it('starts afresh on reset', () => {
    const window = new CountWindow(2);
    failure(window);
    failure(window);

    window.reset();
    success(window);

    expect(window.totals()).toEqual({ calls: 1, failedCalls: 0, failures: 0, slow: 0 });
    success(window);
    success(window);
    expect(window.totals()).toEqual({ calls: 2, failedCalls: 0, failures: 0, slow: 0 });
  });

  it('exports its outcomes oldest first and imports the last `size` of them', () => {
    const window = new CountWindow(3);
    failure(window, 0.5);
    success(window, true);
    failure(window);
    success(window);

    const record = window.export();
    expect(record).toEqual({
      type: 'count',
      outcomes: [
        [0, 2],
        [1, 1],
        [0, 0],
      ],
    });

    const smaller = new CountWindow(2);
    smaller.import(record);
    expect(smaller.totals()).toEqual({ calls: 2, failedCalls: 1, failures: 1, slow: 0 });
  });

  describe('through the breaker', () => {
    it('judges only the last `size` calls: a failure evicted before the threshold does not count', async () => {
      const breaker = breakerOn(fakeClock(), {
        window: { type: 'count', size: 3 },
        minimumCalls: 3,
        failureThreshold: 2,
      });

      await fail(breaker);
      await succeed(breaker, 2);
      await fail(breaker);
      expect(breaker.snapshot()).toMatchObject({ state: 'closed', failures: 1, successes: 2, calls: 3 });

      await fail(breaker);
      expect(breaker.snapshot()).toMatchObject({ state: 'open', failures: 2, successes: 1, calls: 3 });
    });

    it('opens on the same sequence when the window is one call larger', async () => {
      const breaker = breakerOn(fakeClock(), {
        window: { type: 'count', size: 4 },
        minimumCalls: 4,
        failureThreshold: 2,
      });

      await fail(breaker);
      await succeed(breaker, 2);
      await fail(breaker);

      expect(breaker.snapshot()).toMatchObject({ state: 'open', failures: 2, calls: 4 });
    });

    it('reports no failures and a zero failure rate once weighted failures left the window', async () => {
      const light = new Error('light');
      const breaker = breakerOn(fakeClock(), {
        window: { type: 'count', size: 3 },
        minimumCalls: 3,
        failureWeight: (e) => (e === light ? 0.1 : 0.2),
      });
      await fail(breaker, 1, light);
      await fail(breaker);

      await succeed(breaker, 3);

      expect(breaker.snapshot()).toMatchObject({ failures: 0, failureRate: 0, successes: 3 });
    });

    it('judges the failure rate over the full window once minimumCalls is reached', async () => {
      const breaker = breakerOn(fakeClock(), {
        window: { type: 'count', size: 4 },
        minimumCalls: 4,
        failureRateThreshold: 0.75,
      });

      await fail(breaker, 2);
      await succeed(breaker);
      await fail(breaker);
      expect(breaker.state).toBe('open');
    });

    it('judges the slow-call rate over the last `size` calls', async () => {
      const clock = fakeClock();
      const breaker = breakerOn(clock, {
        window: { type: 'count', size: 2 },
        minimumCalls: 2,
        slowCallDuration: 100,
        slowCallRateThreshold: 1,
      });

      await succeedAfter(breaker, clock, 100);
      await succeed(breaker);
      await succeedAfter(breaker, clock, 100);
      expect(breaker.snapshot()).toMatchObject({ state: 'closed', slowCalls: 1, slowCallRate: 0.5 });

      await succeedAfter(breaker, clock, 100);
      expect(breaker.snapshot()).toMatchObject({ state: 'open', slowCalls: 2 });
    });
  });
});
