import { BreakerTimeoutError } from '../../src/core/errors';
import type { WatchedCall } from '../../src/core/watched-call';
import { deferred, onFakeTimers, record, rejectionOf, type Deferred } from './breaker-test-kit';

interface Reply {
  status: number;
}

/**
 * A call whose reply the test settles, which stands for another error (`errorForCaller`) when
 * it fails with a wrapper that has one as its `cause`; it records what it is asked.
 */
function unwrapping(): WatchedCall<Reply> & { reply: Deferred<Reply>; told: string[] } {
  const reply = deferred<Reply>();
  const told: string[] = [];
  return {
    reply,
    told,
    start: () => reply.promise,
    timedOut: () => told.push('timedOut'),
    failureOf: () => undefined,
    failed: () => {
      told.push('failed');
    },
    errorForCaller: (error) => {
      told.push('errorForCaller');
      return (error as { cause?: unknown }).cause ?? error;
    },
  };
}

/**
 * `WatchedCall.errorForCaller`: a call that fails picks the error its caller gets (a fetch
 * redirected to an OPEN origin hands back that origin's `BreakerOpenError`, the cause of fetch's
 * `TypeError`), while the breaker counts what the call failed with.
 */
describe('Watched calls: the error the caller gets', () => {
  beforeEach(() => {
    jest.useFakeTimers();
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it.each([{ timeout: 1_000 }, { timeout: false as const }])(
    'rejects the caller with the error the call picks, and counts the one it failed with ($timeout)',
    async (options) => {
      const { breaker } = onFakeTimers(options);
      const failures = record(breaker, 'failure');
      const call = unwrapping();
      const inner = new Error('what it stands for');
      const wrapper = new TypeError('fetch failed', { cause: inner });

      const outcome = rejectionOf(breaker.executeWatched(call));
      call.reply.reject(wrapper);

      expect(await outcome).toBe(inner);
      expect(call.told).toEqual(['failed', 'errorForCaller']);
      expect(failures.map(({ error }) => error)).toEqual([wrapper]);
      expect(breaker.snapshot()).toMatchObject({ failures: 1, calls: 1, inFlight: 0 });
    },
  );

  it.each([{ timeout: 1_000 }, { timeout: false as const }])(
    'never asks on a success ($timeout)',
    async (options) => {
      const { breaker } = onFakeTimers(options);
      const call = unwrapping();

      const outcome = breaker.executeWatched(call);
      call.reply.resolve({ status: 200 });

      await expect(outcome).resolves.toEqual({ status: 200 });
      expect(call.told).toEqual([]);
    },
  );

  it('never asks after its timeout: the caller has the BreakerTimeoutError already', async () => {
    const { breaker, advance } = onFakeTimers({ timeout: 1_000 });
    const call = unwrapping();
    const outcome = rejectionOf(breaker.executeWatched(call));

    await advance(1_000);
    call.reply.reject(new TypeError('fetch failed', { cause: new Error('late') }));
    await jest.advanceTimersByTimeAsync(0);

    expect(await outcome).toBeInstanceOf(BreakerTimeoutError);
    expect(call.told).toEqual(['timedOut', 'failed']);
  });

  it.each([{ timeout: 1_000 }, { timeout: false as const }])(
    'leaves the caller the error the call failed with when picking throws ($timeout)',
    async (options) => {
      const { breaker } = onFakeTimers(options);
      const call = unwrapping();
      call.errorForCaller = () => {
        throw new Error('cannot pick');
      };
      const down = new Error('down');

      const outcome = rejectionOf(breaker.executeWatched(call));
      call.reply.reject(down);

      expect(await outcome).toBe(down);
      expect(breaker.snapshot()).toMatchObject({ failures: 1, inFlight: 0 });
    },
  );
});
