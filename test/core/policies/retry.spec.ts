import { BreakerOpenError } from '../../../src/core/errors';
import { CircuitState } from '../../../src/core/circuit-state';
import { Policies } from '../../../src/core/policies/policies';
import type { PolicyEvent } from '../../../src/core/policies/policy-events';
import { BulkheadFullError, RateLimitedError } from '../../../src/core/policies/policy-errors';
import type { RetryOptions } from '../../../src/core/policies/policy-options';
import { fakeTimers, seededRandom, type FakeTimers } from './fake-timers';

const boom = () => new Error('downstream failed');

function retrying(
  retry: RetryOptions,
  timers: FakeTimers,
  events: PolicyEvent[] = [],
  random = seededRandom(),
) {
  return new Policies('payments', { retry }, { timers, random, onEvent: (e) => events.push(e) });
}

/** Starts a call that fails `failures` times then answers 'ok'; counts the attempts. */
function flaky(policies: Policies, failures: number, error: () => unknown = boom) {
  const calls = { count: 0 };
  const promise = policies.execute(async () => {
    calls.count++;
    if (calls.count <= failures) throw error();
    return 'ok';
  });
  promise.catch(() => undefined);
  return { calls, promise };
}

describe('retry', () => {
  it('should wait delay, 2×delay, 4×delay between attempts without jitter', async () => {
    const timers = fakeTimers();
    const { calls, promise } = flaky(retrying({ attempts: 3, delay: 100, jitter: 'none' }, timers), 3);
    await timers.advance(0);
    expect(calls.count).toBe(1);
    await timers.advance(99);
    expect(calls.count).toBe(1);
    await timers.advance(1);
    expect(calls.count).toBe(2);
    await timers.advance(200);
    expect(calls.count).toBe(3);
    await timers.advance(400);
    await expect(promise).resolves.toBe('ok');
    expect(timers.started).toEqual([100, 200, 400]);
  });

  it('should cap each wait at maxDelay and keep a constant backoff constant', async () => {
    const timers = fakeTimers();
    const { promise } = flaky(
      retrying({ attempts: 4, delay: 300, maxDelay: 1000, jitter: 'none' }, timers),
      4,
    );
    await timers.advance(10_000);
    await promise;
    expect(timers.started).toEqual([300, 600, 1000, 1000]);

    const constant = fakeTimers();
    const again = flaky(
      retrying({ attempts: 3, delay: 50, backoff: 'constant', jitter: 'none' }, constant),
      3,
    );
    await constant.advance(1_000);
    await again.promise;
    expect(constant.started).toEqual([50, 50, 50]);
  });

  it('should wait a random time within [0, computed delay] with full jitter', async () => {
    const timers = fakeTimers();
    const { promise } = flaky(retrying({ attempts: 3, delay: 100 }, timers, [], seededRandom(7)), 3);
    await timers.advance(1_000);
    await promise;
    const replay = seededRandom(7);
    expect(timers.started).toEqual([replay() * 100, replay() * 200, replay() * 400]);
    for (const [i, wait] of timers.started.entries()) {
      expect(wait).toBeGreaterThanOrEqual(0);
      expect(wait).toBeLessThanOrEqual(100 * 2 ** i);
    }
  });

  it("should throw the method's own last error unchanged after the last attempt", async () => {
    const timers = fakeTimers();
    const events: PolicyEvent[] = [];
    const errors: Error[] = [];
    const policies = retrying({ attempts: 2, delay: 10, jitter: 'none' }, timers, events);
    const promise = policies.execute(async () => {
      const error = boom();
      errors.push(error);
      throw error;
    });
    promise.catch(() => undefined);
    await timers.advance(100);
    await expect(promise).rejects.toBe(errors[2]);
    expect(errors).toHaveLength(3);
    expect(events.map((e) => e.kind === 'retry' && e.outcome)).toEqual(['retried', 'retried', 'exhausted']);
  });

  it.each([
    ['BreakerOpenError', () => BreakerOpenError.fast('payments', CircuitState.OPEN, 5_000)],
    ['BulkheadFullError', () => new BulkheadFullError('p', 1, 0)],
    ['RateLimitedError', () => new RateLimitedError('p', 10)],
    ['LoadShedError', () => Object.assign(new Error('shed'), { isResilienceError: true, code: 'LOAD_SHED' })],
  ])('should never retry a rejection (%s)', async (_name, rejection) => {
    const timers = fakeTimers();
    const events: PolicyEvent[] = [];
    const { calls, promise } = flaky(retrying({ attempts: 3, delay: 10 }, timers, events), 5, rejection);
    await timers.advance(1_000);
    await expect(promise).rejects.toMatchObject({ isResilienceError: true });
    expect(calls.count).toBe(1);
    expect(events).toEqual([]);
  });

  it('should not retry what retryOn refuses, nor HTTP 4xx by default', async () => {
    const timers = fakeTimers();
    const notFound = () => Object.assign(new Error('missing'), { status: 404 });
    const byDefault = flaky(retrying({ attempts: 3, delay: 10 }, timers), 5, notFound);
    const refused = flaky(retrying({ attempts: 3, delay: 10, retryOn: () => false }, timers), 5);
    await timers.advance(1_000);
    await expect(byDefault.promise).rejects.toThrow('missing');
    await expect(refused.promise).rejects.toThrow('downstream failed');
    expect([byDefault.calls.count, refused.calls.count]).toEqual([1, 1]);
  });

  it('should wait at least the retryAfterMs an error carries, and not retry one above maxDelay', async () => {
    const timers = fakeTimers();
    const slowDown = (ms: number) => () => Object.assign(boom(), { retryAfterMs: ms });
    const honoured = flaky(retrying({ attempts: 1, delay: 10, jitter: 'none' }, timers), 1, slowDown(700));
    await timers.advance(5_000);
    await expect(honoured.promise).resolves.toBe('ok');
    expect(timers.started).toEqual([700]);

    const tooLong = flaky(retrying({ attempts: 3, maxDelay: 1_000 }, timers), 1, slowDown(2_000));
    await timers.advance(5_000);
    await expect(tooLong.promise).rejects.toMatchObject({ retryAfterMs: 2_000 });
    expect(tooLong.calls.count).toBe(1);
  });

  it('should count an error asking for a wait above maxDelay as exhausted, taking nothing from the budget', async () => {
    const timers = fakeTimers();
    const events: PolicyEvent[] = [];
    const tooLong = () => Object.assign(boom(), { retryAfterMs: 60_000 });
    const policies = retrying(
      { attempts: 3, maxDelay: 1_000, budget: { ratio: 0, minPerSecond: 0.1 } },
      timers,
      events,
    );

    const first = flaky(policies, 1, tooLong);
    await timers.advance(5_000);
    await expect(first.promise).rejects.toMatchObject({ retryAfterMs: 60_000 });
    // The give-up is the retry's own decision (its maxDelay), so it shows beside the retries used up.
    expect(events).toEqual([{ kind: 'retry', policy: 'payments', outcome: 'exhausted' }]);

    // The one retry the budget allows (0.1 × 10) is still there.
    const second = flaky(policies, 1);
    await timers.advance(5_000);
    await expect(second.promise).resolves.toBe('ok');
    expect(events.slice(1)).toEqual([{ kind: 'retry', policy: 'payments', outcome: 'retried' }]);
  });

  it('should stop waiting when the total timeout aborts the call during a retry wait', async () => {
    const timers = fakeTimers();
    const retry = { attempts: 2, delay: 1_000, jitter: 'none' } as const;
    const policies = new Policies('payments', { retry, timeout: 5_000 }, { timers });
    let attempts = 0;
    // Each attempt fails after 1.5 s: 0–1.5 s, wait 1 s, 2.5–4 s, wait 2 s (aborted at 5 s).
    const promise = policies.execute(() => {
      attempts++;
      return new Promise((_, reject) => timers.setTimeout(() => reject(boom()), 1_500));
    });
    promise.catch(() => undefined);
    await timers.advance(4_500);
    expect(attempts).toBe(2);
    await timers.advance(500);
    await expect(promise).rejects.toMatchObject({ code: 'TIMEOUT', policy: 'payments', timeoutMs: 5_000 });
    expect(timers.pending).toBe(0);
    await timers.advance(10_000);
    expect(attempts).toBe(2);
  });

  describe('a retry given up after its wait', () => {
    /** Budget of one retry per 10 s (0.1 × 10), so a retry taken and not given back shows. */
    const oneRetry = { ratio: 0, minPerSecond: 0.1 } as const;

    /** A second call, within the same 10 s, that fails once: it retries only if the budget still holds its one retry. */
    async function budgetLeft(policies: Policies, timers: FakeTimers): Promise<boolean> {
      const { promise } = flaky(policies, 1);
      await timers.advance(1_000);
      return promise.then(
        () => true,
        () => false,
      );
    }

    it('should count no retry, and give it back to the budget, when the total timeout ends the wait', async () => {
      const timers = fakeTimers();
      const events: PolicyEvent[] = [];
      const policies = new Policies(
        'payments',
        { retry: { attempts: 1, delay: 1_000, jitter: 'none', budget: oneRetry }, timeout: 1_500 },
        { timers, onEvent: (e) => events.push(e) },
      );
      let attempts = 0;
      // The attempt fails after 800 ms; its retry would be due at 1.8 s, past the total timeout.
      const call = policies.execute(() => {
        attempts++;
        return new Promise((_, reject) => timers.setTimeout(() => reject(boom()), 800));
      });
      call.catch(() => undefined);

      await timers.advance(1_500);

      await expect(call).rejects.toMatchObject({ code: 'TIMEOUT' });
      expect(attempts).toBe(1);
      // The timeout ended the call, as when it ends an attempt: counted as rejected{timeout} only.
      expect(events).toEqual([{ kind: 'rejected', policy: 'payments', reason: 'timeout' }]);
      expect(await budgetLeft(policies, timers)).toBe(true);
      expect(events.slice(1)).toEqual([{ kind: 'retry', policy: 'payments', outcome: 'retried' }]);
    });

    it('should count exhausted, not retried, when the attempt before still runs as the retry is due (a held bulkhead slot)', async () => {
      const timers = fakeTimers();
      const events: PolicyEvent[] = [];
      const policies = new Policies(
        'payments',
        {
          bulkhead: { maxConcurrent: 1 },
          retry: { attempts: 1, delay: 10, jitter: 'none', budget: oneRetry },
        },
        { timers, onEvent: (e) => events.push(e) },
      );
      const ends: Array<() => void> = [];
      // A breaker's timeout failed the attempt; its method runs on, holding the slot.
      const call = policies.execute((_call, hold) => {
        hold?.(new Promise<void>((resolve) => ends.push(resolve)));
        return Promise.reject(Object.assign(new Error('timed out'), { code: 'BREAKER_TIMEOUT' }));
      });
      call.catch(() => undefined);

      await timers.advance(10);

      await expect(call).rejects.toThrow('timed out');
      expect(ends).toHaveLength(1);
      expect(events).toEqual([{ kind: 'retry', policy: 'payments', outcome: 'exhausted' }]);
      ends[0]();
      await timers.advance(0);
      expect(await budgetLeft(policies, timers)).toBe(true);
    });

    it('should count nothing when the app closes during the wait', async () => {
      const timers = fakeTimers();
      const events: PolicyEvent[] = [];
      const policies = retrying(
        { attempts: 1, delay: 1_000, jitter: 'none', budget: oneRetry },
        timers,
        events,
      );
      const call = flaky(policies, 1);
      await timers.advance(0);

      policies.close();

      await expect(call.promise).rejects.toThrow('downstream failed');
      expect(call.calls.count).toBe(1);
      expect(events).toEqual([]);
    });

    it('should count a retry when its attempt starts, after the wait', async () => {
      const timers = fakeTimers();
      const events: PolicyEvent[] = [];
      const { calls, promise } = flaky(
        retrying({ attempts: 1, delay: 1_000, jitter: 'none' }, timers, events),
        1,
      );
      await timers.advance(999);
      expect([calls.count, events]).toEqual([1, []]);

      await timers.advance(1);

      expect(calls.count).toBe(2);
      expect(events).toEqual([{ kind: 'retry', policy: 'payments', outcome: 'retried' }]);
      await expect(promise).resolves.toBe('ok');
    });
  });

  describe('budget', () => {
    it('should keep retries within ratio × first tries + minPerSecond × 10 over 10 s', async () => {
      const timers = fakeTimers();
      const events: PolicyEvent[] = [];
      const policies = retrying(
        { attempts: 3, delay: 0, jitter: 'none', budget: { ratio: 0.5, minPerSecond: 1 } },
        timers,
        events,
      );
      let downstream = 0;
      const calls = Array.from({ length: 20 }, () =>
        policies
          .execute(async () => {
            downstream++;
            throw boom();
          })
          .catch((e: unknown) => e),
      );
      await timers.advance(10);
      await Promise.all(calls);
      // 20 first tries → 0.5 × 20 + 1 × 10 = 20 retries at most, against 60 without a budget.
      expect(downstream).toBe(40);
      const outcomes = events.map((e) => (e.kind === 'retry' ? e.outcome : e.kind));
      expect(outcomes.filter((o) => o === 'retried')).toHaveLength(20);
      expect(outcomes.filter((o) => o === 'budget_exhausted').length).toBeGreaterThan(0);
    });

    it('should give the budget back as the 10 s window moves on', async () => {
      const timers = fakeTimers();
      const policies = retrying(
        { attempts: 1, delay: 0, jitter: 'none', budget: { ratio: 0, minPerSecond: 0.1 } },
        timers,
      );
      const attempts = async () => {
        let n = 0;
        await policies
          .execute(async () => {
            n++;
            throw boom();
          })
          .catch(() => undefined);
        return n;
      };
      const first = attempts();
      await timers.advance(0);
      expect(await first).toBe(2);
      const second = attempts();
      await timers.advance(0);
      expect(await second).toBe(1);
      await timers.advance(10_000);
      const third = attempts();
      await timers.advance(0);
      expect(await third).toBe(2);
    });

    it('should retry without limit when budget is false', async () => {
      const timers = fakeTimers();
      const policies = retrying({ attempts: 2, delay: 0, jitter: 'none', budget: false }, timers);
      let downstream = 0;
      const calls = Array.from({ length: 50 }, () =>
        policies
          .execute(async () => {
            downstream++;
            throw boom();
          })
          .catch(() => undefined),
      );
      await timers.advance(10);
      await Promise.all(calls);
      expect(downstream).toBe(150);
    });
  });

  it('should start no timer for a call that succeeds', async () => {
    const timers = fakeTimers();
    const policies = retrying({ attempts: 3 }, timers);
    await expect(policies.execute(async () => 'ok')).resolves.toBe('ok');
    expect(timers.started).toEqual([]);
  });

  it('should end a call waiting to retry with its last error once closed, and make no attempt after', async () => {
    const timers = fakeTimers();
    const policies = new Policies('p', { retry: { attempts: 3, delay: 1_000, jitter: 'none' } }, { timers });
    let attempts = 0;
    const call = policies.execute(async () => {
      attempts++;
      throw new Error(`failure ${attempts}`);
    });
    call.catch(() => undefined);
    await timers.advance(0);

    policies.close();

    await expect(call).rejects.toThrow('failure 1');
    expect(attempts).toBe(1);
    expect(timers.pending).toBe(0);
  });
});
