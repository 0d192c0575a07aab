import { InvalidBreakerOptionsError } from '../../../src/core/errors';
import { Policies } from '../../../src/core/policies/policies';
import type { PolicyEvent } from '../../../src/core/policies/policy-events';
import { fakeTimers } from './fake-timers';

describe('policy order (fallback → rate limit → bulkhead → total timeout → retry → attempt)', () => {
  it('should refuse a rate-limited call before it takes a bulkhead slot', async () => {
    const timers = fakeTimers();
    const policies = new Policies(
      'p',
      { rateLimit: { limit: 1 }, bulkhead: { maxConcurrent: 1 } },
      { timers },
    );
    const first = policies.execute(() => new Promise(() => undefined));
    await expect(policies.execute(async () => 'ok')).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    expect(policies.bulkhead?.active).toBe(1);
    void first;
  });

  it('should not start the total timeout while a call waits in the bulkhead queue', async () => {
    const timers = fakeTimers();
    const policies = new Policies(
      'p',
      { bulkhead: { maxConcurrent: 1, maxQueue: 1, queueTimeout: 5_000 }, timeout: 1_000 },
      { timers },
    );
    let release!: () => void;
    const first = policies.execute(() => new Promise<string>((resolve) => (release = () => resolve('a'))));
    const second = policies.execute(async () => 'b');
    await timers.advance(900);
    release();
    await expect(first).resolves.toBe('a');
    await timers.advance(0);
    await expect(second).resolves.toBe('b');
  });

  it('should hold a bulkhead slot until an attempt the total timeout failed has really ended', async () => {
    const timers = fakeTimers();
    const policies = new Policies('p', { bulkhead: { maxConcurrent: 1 }, timeout: 50 }, { timers });
    let end!: () => void;
    // The attempt ignores its signal: it runs on after the caller timed out.
    const first = policies.execute(() => new Promise<string>((resolve) => (end = () => resolve('late'))));
    first.catch(() => undefined);
    await timers.advance(50);
    await expect(first).rejects.toMatchObject({ code: 'TIMEOUT' });

    await expect(policies.execute(async () => 'second')).rejects.toMatchObject({ code: 'BULKHEAD_FULL' });
    end();
    await timers.advance(0);
    await expect(policies.execute(async () => 'third')).resolves.toBe('third');
  });

  /** A policy with a bulkhead of one and a retry, and attempts whose method runs on after a breaker's timeout failed them. */
  function heldBulkhead() {
    const timers = fakeTimers();
    const policies = new Policies(
      'p',
      { bulkhead: { maxConcurrent: 1 }, retry: { attempts: 1, delay: 10, jitter: 'none', budget: false } },
      { timers },
    );
    const ends: Array<() => void> = [];
    const call = policies.execute((_call, hold) => {
      hold?.(new Promise<void>((resolve) => ends.push(resolve)));
      return Promise.reject(Object.assign(new Error('timed out'), { code: 'BREAKER_TIMEOUT' }));
    });
    call.catch(() => undefined);
    return { timers, policies, ends, call };
  }

  it('should hold a bulkhead slot for work an attempt outlives (a breaker’s timeout), and make no retry while it runs', async () => {
    const { timers, policies, ends, call } = heldBulkhead();
    await timers.advance(0);
    await expect(policies.execute(async () => 'second')).rejects.toMatchObject({ code: 'BULKHEAD_FULL' });

    await timers.advance(10);

    await expect(call).rejects.toThrow('timed out');
    expect(ends).toHaveLength(1);
    await expect(policies.execute(async () => 'third')).rejects.toMatchObject({ code: 'BULKHEAD_FULL' });
    ends[0]();
    await timers.advance(0);
    await expect(policies.execute(async () => 'fourth')).resolves.toBe('fourth');
  });

  it('should retry once the work of the attempt before has ended by the time the retry is due', async () => {
    const { timers, ends, call } = heldBulkhead();
    await timers.advance(0);
    ends[0]();

    await timers.advance(10);

    expect(ends).toHaveLength(2);
    await expect(call).rejects.toThrow('timed out');
  });

  it('should bound every retry and wait with the total timeout', async () => {
    const timers = fakeTimers();
    const policies = new Policies(
      'p',
      { retry: { attempts: 3, delay: 100, jitter: 'none' }, timeout: 1_000 },
      { timers },
    );
    let attempts = 0;
    const promise = policies.execute(() => {
      attempts++;
      return new Promise((_, reject) => timers.setTimeout(() => reject(new Error('slow failure')), 400));
    });
    promise.catch(() => undefined);
    await timers.advance(1_000);
    await expect(promise).rejects.toMatchObject({ code: 'TIMEOUT' });
    expect(attempts).toBe(2);
  });

  it('should end the total timeout of an attempt that throws before returning a promise', async () => {
    const timers = fakeTimers();
    const events: PolicyEvent[] = [];
    const policies = new Policies('p', { timeout: 1_000 }, { timers, onEvent: (e) => events.push(e) });
    await expect(
      policies.execute(() => {
        throw new Error('thrown at once');
      }),
    ).rejects.toThrow('thrown at once');

    expect(timers.pending).toBe(0);
    await timers.advance(1_000);
    expect(events).toEqual([]);
  });

  it('should abort the signal each attempt receives when the total timeout elapses', async () => {
    const timers = fakeTimers();
    const policies = new Policies('p', { timeout: 50 }, { timers });
    let seen: AbortSignal | undefined;
    const promise = policies.execute((call) => {
      seen = call?.signal;
      return new Promise(() => undefined);
    });
    promise.catch(() => undefined);
    await timers.advance(50);
    expect(seen?.aborted).toBe(true);
    expect(seen?.reason).toMatchObject({ code: 'TIMEOUT' });
  });

  it('should serve with the fallback outermost: a rejection, and a final failure after retries', async () => {
    const timers = fakeTimers();
    const policies = new Policies(
      'p',
      { rateLimit: { limit: 1 }, retry: { attempts: 1, delay: 0 } },
      { timers },
    );
    const fallback = (error: unknown) =>
      `served ${(error as { code?: string; message: string }).code ?? 'error'}`;
    const failing = policies.execute(() => Promise.reject(new Error('down')), { fallback });
    await timers.advance(10);
    await expect(failing).resolves.toBe('served error');
    await expect(policies.execute(async () => 'ok', { fallback })).resolves.toBe('served RATE_LIMITED');
  });

  it('should call onFinalFailure once with the arguments and attempts when no fallback serves', async () => {
    const timers = fakeTimers();
    const failures: unknown[][] = [];
    const policies = new Policies(
      'p',
      { retry: { attempts: 2, delay: 0 } },
      { timers, onFinalFailure: (args, error, attempts) => failures.push([args, error, attempts]) },
    );
    const error = new Error('down');
    const promise = policies.execute(() => Promise.reject(error), { args: ['id-1'] });
    promise.catch(() => undefined);
    await timers.advance(10);
    await expect(promise).rejects.toBe(error);
    expect(failures).toEqual([[['id-1'], error, 3]]);
    const served = policies.execute(() => Promise.reject(error), { fallback: () => 'served' });
    await timers.advance(10);
    await expect(served).resolves.toBe('served');
    expect(failures).toHaveLength(1);
  });
});

describe('policy options', () => {
  const invalid = (options: unknown, context = {}) => {
    try {
      new Policies('payments', options as never, {}, context);
    } catch (error) {
      return error as InvalidBreakerOptionsError;
    }
    throw new Error('expected the options to be refused');
  };

  it.each([
    [{ retry: { attempts: -1 } }, 'retry.attempts'],
    [{ retry: { attempt: 3 } }, 'retry.attempt'],
    [{ retry: { delay: 'fast' } }, 'retry.delay'],
    [{ retry: { maxDelay: -5 } }, 'retry.maxDelay'],
    [{ retry: { backoff: 'linear' } }, 'retry.backoff'],
    [{ retry: { jitter: 'half' } }, 'retry.jitter'],
    [{ retry: { retryOn: true } }, 'retry.retryOn'],
    [{ retry: { budget: true } }, 'retry.budget'],
    [{ retry: { budget: { ratio: -1 } } }, 'retry.budget.ratio'],
    [{ retry: { budget: { minPerSecond: 'x' } } }, 'retry.budget.minPerSecond'],
    [{ retry: { budget: { max: 1 } } }, 'retry.budget.max'],
    [{ retry: 3 }, 'retry'],
    [{ timeout: 0 }, 'timeout'],
    [{ bulkhead: {} }, 'bulkhead.maxConcurrent'],
    [{ bulkhead: { maxConcurrent: 1.5 } }, 'bulkhead.maxConcurrent'],
    [{ bulkhead: { maxConcurrent: 1, maxQueue: -1 } }, 'bulkhead.maxQueue'],
    [{ bulkhead: { maxConcurrent: 1, queueTimeout: 0 } }, 'bulkhead.queueTimeout'],
    [{ bulkhead: { maxConcurrent: 1, size: 2 } }, 'bulkhead.size'],
    [{ rateLimit: { interval: 10 } }, 'rateLimit.limit'],
    [{ rateLimit: { limit: 0 } }, 'rateLimit.limit'],
    [{ rateLimit: { limit: 1, interval: -1 } }, 'rateLimit.interval'],
    [{ rateLimit: { limit: 1, burst: 0 } }, 'rateLimit.burst'],
    [{ rateLimit: { limit: 1, scope: 'global' } }, 'rateLimit.scope'],
    [{ rateLimit: { limit: 1, key: 'tenant' } }, 'rateLimit.key'],
    [{ breaker: '' }, 'breaker'],
    [{ deadLetter: 'yes' }, 'deadLetter'],
    [{ retries: 3 }, 'retries'],
  ])('should refuse %j naming %s', (options, key) => {
    const error = invalid(options);
    expect(error).toBeInstanceOf(InvalidBreakerOptionsError);
    expect(error).toMatchObject({ key, scope: 'policy', breaker: 'payments' });
    expect(error.message).toContain(`policy "payments"`);
  });

  it('should list the known keys for an unknown one', () => {
    expect(invalid({ retries: 3 }).message).toContain(
      'known: breaker, retry, timeout, bulkhead, rateLimit, deadLetter',
    );
  });

  it('should refuse a total timeout not above the retry delays or the breaker timeout', () => {
    expect(invalid({ retry: { attempts: 3, delay: 200 }, timeout: 1_400 })).toMatchObject({ key: 'timeout' });
    expect(invalid({ retry: { attempts: 3, delay: 200 }, timeout: 1_400 }).message).toContain('1400 ms');
    expect(invalid({ timeout: 1_000 }, { breakerTimeout: 1_000 }).message).toContain(
      "breaker's per-attempt timeout (1000 ms)",
    );
    expect(() => new Policies('ok', { retry: { attempts: 3, delay: 200 }, timeout: 1_401 })).not.toThrow();
  });

  it("should refuse rateLimit.scope 'fleet' without a Redis store", () => {
    const error = invalid({ rateLimit: { limit: 5, scope: 'fleet' } });
    expect(error).toMatchObject({ key: 'rateLimit.scope' });
    expect(error.message).toContain('Redis store');
    expect(
      () => new Policies('ok', { rateLimit: { limit: 5, scope: 'fleet' } }, {}, { fleetStore: true }),
    ).not.toThrow();
  });
});

describe('total timeout', () => {
  it('should keep one timer for every call running, and time out each call at its own deadline', async () => {
    const timers = fakeTimers();
    const policies = new Policies('p', { timeout: 1_000 }, { timers });
    const hung = () => policies.execute(() => new Promise(() => undefined));
    const first = hung();
    first.catch(() => undefined);
    for (let i = 0; i < 100; i++) await policies.execute(async () => i);
    await timers.advance(400);
    const second = hung();
    second.catch(() => undefined);
    expect(timers.started).toEqual([1_000]);
    await timers.advance(600);
    await expect(first).rejects.toMatchObject({ code: 'TIMEOUT' });
    let settled = false;
    second.catch(() => (settled = true));
    await timers.advance(399);
    expect(settled).toBe(false);
    await timers.advance(1);
    await expect(second).rejects.toMatchObject({ code: 'TIMEOUT' });
    expect(timers.pending).toBe(0);
  });

  it('should still time out the other calls when an onEvent listener throws on a timeout', async () => {
    const timers = fakeTimers();
    const listenerError = new Error('listener failed');
    let thrown = false;
    const onEvent = () => {
      if (thrown) return;
      thrown = true;
      throw listenerError;
    };
    const policies = new Policies('p', { timeout: 1_000 }, { timers, onEvent });
    const calls = [0, 1].map(() => policies.execute(() => new Promise(() => undefined)));
    const outcomes = calls.map((call) =>
      call.then(
        () => 'resolved',
        (error: { code: string }) => error.code,
      ),
    );

    await expect(timers.advance(1_000)).rejects.toBe(listenerError);
    await timers.advance(0);

    expect(await Promise.all(outcomes)).toEqual(['TIMEOUT', 'TIMEOUT']);
    expect(timers.pending).toBe(0);
  });

  it('should build no AbortSignal for a call that never reads it', async () => {
    const timers = fakeTimers();
    const policies = new Policies('p', { timeout: 1_000 }, { timers });
    const created = jest.spyOn(globalThis, 'AbortController');
    await policies.execute(async () => 'ok');
    expect(created).not.toHaveBeenCalled();
    created.mockRestore();
  });
});
