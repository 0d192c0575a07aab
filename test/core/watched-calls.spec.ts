import { BreakerOpenError, BreakerTimeoutError } from '../../src/core/errors';
import type { WatchedCall } from '../../src/core/watched-call';
import { deferred, fail, onFakeTimers, record, rejectionOf, type Deferred } from './breaker-test-kit';

interface Reply {
  status: number;
}

/** A call whose reply is settled by the test; it records what it is told, in order. */
function watched(told: string[] = []): WatchedCall<Reply> & { reply: Deferred<Reply>; told: string[] } {
  const reply = deferred<Reply>();
  return {
    reply,
    told,
    start: () => {
      told.push('start');
      return reply.promise;
    },
    timedOut: (error) => told.push(`timedOut ${error.code}`),
    failureOf: (value) => {
      told.push(`failureOf ${value.status}`);
      return value.status >= 500 ? new Error(`status ${value.status}`) : undefined;
    },
    failed: (error) => {
      told.push(`failed ${(error as Error).message}`);
    },
  };
}

/**
 * `executeWatched()`: how outgoing HTTP runs a request. The call is told of its timeout and
 * of its outcome, and says which values are failures.
 */
describe('Watched calls', () => {
  beforeEach(() => {
    jest.useFakeTimers();
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it.each([{ timeout: 1_000 }, { timeout: false as const }])(
    'counts a value the call says is a failure, and still resolves with it ($timeout)',
    async (options) => {
      const { breaker } = onFakeTimers(options);
      const failures = record(breaker, 'failure');
      const call = watched();

      const outcome = breaker.executeWatched(call);
      call.reply.resolve({ status: 503 });

      await expect(outcome).resolves.toEqual({ status: 503 });
      expect(breaker.snapshot()).toMatchObject({ failures: 1, calls: 1, inFlight: 0 });
      expect(failures.map(({ error }) => (error as Error).message)).toEqual(['status 503']);
      expect(call.told).toEqual(['start', 'failureOf 503']);
    },
  );

  it.each([{ timeout: 1_000 }, { timeout: false as const }])(
    'counts any other value as a success ($timeout)',
    async (options) => {
      const { breaker, advance } = onFakeTimers(options);
      const call = watched();

      const outcome = breaker.executeWatched(call);
      call.reply.resolve({ status: 404 });

      await expect(outcome).resolves.toEqual({ status: 404 });
      await advance(1_000);
      expect(breaker.snapshot()).toMatchObject({ failures: 0, successes: 1, inFlight: 0 });
      expect(call.told).toEqual(['start', 'failureOf 404']);
      expect(jest.getTimerCount()).toBe(0);
    },
  );

  it('does not count a failure the call disowns (its caller aborted it), whatever isFailure says', async () => {
    const { breaker } = onFakeTimers({ timeout: 1_000, isFailure: () => true });
    const call = watched();
    call.failed = () => false;

    const outcome = rejectionOf(breaker.executeWatched(call));
    const aborted = new Error('aborted by its caller');
    call.reply.reject(aborted);

    expect(await outcome).toBe(aborted);
    expect(breaker.snapshot()).toMatchObject({ failures: 0, calls: 0, inFlight: 0 });
  });

  it.each([{ timeout: 1_000 }, { timeout: false as const }])(
    'counts a failure the call says was the callee’s answer as a success, and still rejects with it ($timeout)',
    async (options) => {
      const { breaker } = onFakeTimers({ ...options, isFailure: () => true });
      const failures = record(breaker, 'failure');
      const call = watched();
      call.failed = () => 'success';

      const outcome = rejectionOf(breaker.executeWatched(call));
      const answered = new Error('Request failed with status code 404');
      call.reply.reject(answered);

      expect(await outcome).toBe(answered);
      expect(breaker.snapshot()).toMatchObject({ failures: 0, successes: 1, inFlight: 0 });
      expect(failures).toEqual([]);
    },
  );

  it.each([{ timeout: 1_000 }, { timeout: false as const }])(
    'settles its caller and leaves the breaker when the call throws judging its outcome ($timeout)',
    async (options) => {
      const { breaker } = onFakeTimers(options);
      const [value, error] = [watched(), watched()];
      value.failureOf = () => {
        throw new TypeError('cannot read the status');
      };
      error.failed = () => {
        throw new TypeError('cannot read the error');
      };

      const answered = breaker.executeWatched(value);
      const failed = rejectionOf(breaker.executeWatched(error));
      value.reply.resolve({ status: 503 });
      const down = new Error('down');
      error.reply.reject(down);

      await expect(answered).resolves.toEqual({ status: 503 });
      expect(await failed).toBe(down);
      expect(breaker.snapshot()).toMatchObject({ successes: 1, failures: 1, inFlight: 0 });
    },
  );

  it('counts a call that throws as it starts, and rejects with its error', async () => {
    const { breaker, advance } = onFakeTimers({ timeout: 1_000 });
    const error = new Error('bad header');

    const outcome = breaker.executeWatched({
      ...watched(),
      start: () => {
        throw error;
      },
    });

    await expect(outcome).rejects.toBe(error);
    await advance(1_000);
    expect(breaker.snapshot()).toMatchObject({ failures: 1, calls: 1, inFlight: 0 });
    expect(jest.getTimerCount()).toBe(0);
  });

  it('tells the call of its timeout and rejects its caller at once; what it settles with later counts for nothing', async () => {
    const { breaker, advance } = onFakeTimers({ timeout: 1_000 });
    const call = watched();
    const outcome = rejectionOf(breaker.executeWatched(call));

    await advance(999);
    expect(call.told).toEqual(['start']);
    await advance(1);

    const error = await outcome;
    expect(error).toBeInstanceOf(BreakerTimeoutError);
    expect(call.told).toEqual(['start', 'timedOut BREAKER_TIMEOUT']);
    expect(breaker.snapshot()).toMatchObject({ failures: 0.5, calls: 1, inFlight: 0 });

    call.reply.resolve({ status: 500 });
    await jest.advanceTimersByTimeAsync(0);
    expect(call.told).toEqual(['start', 'timedOut BREAKER_TIMEOUT', 'failureOf 500']);
    expect(breaker.snapshot()).toMatchObject({ failures: 0.5, calls: 1 });
  });

  it('never starts a call the breaker rejects', async () => {
    const { breaker } = onFakeTimers({ timeout: 1_000, failureThreshold: 1 });
    await fail(breaker);
    const call = watched();

    const outcome = rejectionOf(breaker.executeWatched(call));
    await jest.advanceTimersByTimeAsync(0);

    expect(await outcome).toBeInstanceOf(BreakerOpenError);
    expect(call.told).toEqual([]);
  });
});
