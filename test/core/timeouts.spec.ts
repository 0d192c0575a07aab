import { BreakerTimeoutError } from '../../src/core/errors';
import { deferred, onFakeTimers, record, rejectionOf } from './breaker-test-kit';

/** Starts a call that never ends by itself; returns its outcome and the signal it was given. */
function hangingCall(breaker: ReturnType<typeof onFakeTimers>['breaker']) {
  let signal!: AbortSignal;
  const call = breaker.execute((s) => {
    signal = s;
    return new Promise<string>(() => undefined);
  });
  return { outcome: rejectionOf(call), signal: () => signal };
}

describe('Timeouts', () => {
  beforeEach(() => {
    jest.useFakeTimers();
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it('fails a call that takes longer than `timeout` with BreakerTimeoutError', async () => {
    const { breaker, advance } = onFakeTimers({ timeout: 1_000 });
    const call = hangingCall(breaker);

    await advance(999);
    expect(breaker.inFlight).toBe(1);
    await advance(1);

    const error = await call.outcome;
    expect(error).toBeInstanceOf(BreakerTimeoutError);
    expect(error).toMatchObject({ code: 'BREAKER_TIMEOUT', breaker: 'payments', timeoutMs: 1_000 });
    expect((error as Error).message).toBe('Circuit breaker "payments": call timed out after 1000 ms');
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', failures: 0.5, calls: 1, inFlight: 0 });
  });

  it("aborts the call's AbortSignal with the BreakerTimeoutError", async () => {
    const { breaker, advance } = onFakeTimers({ timeout: 1_000 });
    const call = hangingCall(breaker);
    expect(call.signal().aborted).toBe(false);

    await advance(1_000);

    const error = await call.outcome;
    expect(call.signal().aborted).toBe(true);
    expect(call.signal().reason).toBe(error);
  });

  it("emits 'timeout', not 'failure'", async () => {
    const { breaker, advance } = onFakeTimers({ timeout: 1_000 });
    const timeouts = record(breaker, 'timeout');
    const failures = record(breaker, 'failure');
    const call = hangingCall(breaker);

    await advance(1_000);
    await call.outcome;

    expect(timeouts).toEqual([{ breaker: 'payments', durationMs: 1_000, timeoutMs: 1_000 }]);
    expect(failures).toEqual([]);
  });

  it('weighs a timeout half a failure by default: two timeouts make one failure', async () => {
    const { breaker, advance } = onFakeTimers({ timeout: 1_000, failureThreshold: 1 });

    const first = hangingCall(breaker);
    await advance(1_000);
    await first.outcome;
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', failures: 0.5 });

    const second = hangingCall(breaker);
    await advance(1_000);
    await second.outcome;
    expect(breaker.snapshot()).toMatchObject({ state: 'open', failures: 1, calls: 2, tripCount: 1 });
  });

  it('lets a call that ends in time through and never times it out afterwards', async () => {
    const { breaker, advance } = onFakeTimers({ timeout: 1_000 });
    const timeouts = record(breaker, 'timeout');
    const slow = deferred();
    const call = breaker.execute(() => slow.promise);
    await advance(999);

    slow.resolve('in time');

    await expect(call).resolves.toBe('in time');
    await advance(1_000);
    expect(timeouts).toEqual([]);
    expect(breaker.snapshot()).toMatchObject({ failures: 0, successes: 1, inFlight: 0 });
    expect(jest.getTimerCount()).toBe(0);
  });

  it('never times out a call that threw synchronously', async () => {
    const { breaker, advance } = onFakeTimers({ timeout: 1_000 });
    const error = new Error('sync');

    await expect(
      breaker.execute(() => {
        throw error;
      }),
    ).rejects.toBe(error);

    await advance(1_000);
    expect(breaker.snapshot()).toMatchObject({ failures: 1, calls: 1, inFlight: 0 });
    expect(jest.getTimerCount()).toBe(0);
  });

  it('counts a timed-out call once, whatever the call does afterwards', async () => {
    const { breaker, advance } = onFakeTimers({ timeout: 1_000 });
    const successes = record(breaker, 'success');
    const slow = deferred();
    const call = rejectionOf(breaker.execute(() => slow.promise));
    await advance(1_000);
    await call;

    slow.resolve('too late');
    await advance(10);

    expect(successes).toEqual([]);
    expect(breaker.snapshot()).toMatchObject({ failures: 0.5, successes: 0, calls: 1 });
  });

  it('uses a custom failureWeight for timeouts', async () => {
    const { breaker, advance } = onFakeTimers({
      timeout: 1_000,
      failureThreshold: 1,
      failureWeight: (e) => (e instanceof BreakerTimeoutError ? 1 : 0.1),
    });
    const call = hangingCall(breaker);

    await advance(1_000);
    await call.outcome;

    expect(breaker.state).toBe('open');
  });

  it('reopens the breaker on a timed-out trial', async () => {
    const { breaker, clock, advance } = onFakeTimers({
      timeout: 500,
      failureThreshold: 1,
      openDuration: 1_000,
    });
    await rejectionOf(breaker.execute(() => Promise.reject(new Error('down'))));
    await advance(1_000);
    expect(breaker.state).toBe('half_open');
    const trial = hangingCall(breaker);

    await advance(500);
    await trial.outcome;

    expect(breaker.snapshot()).toMatchObject({ state: 'open', tripCount: 2, openedAt: clock.now() });
  });

  it('times out each call at its own deadline, with one timer for all running calls', async () => {
    const { breaker, advance } = onFakeTimers({ timeout: 1_000 });
    const first = hangingCall(breaker);
    await advance(400);
    const second = hangingCall(breaker);
    expect(jest.getTimerCount()).toBe(1);

    await advance(600);
    expect(await first.outcome).toBeInstanceOf(BreakerTimeoutError);
    expect(breaker.inFlight).toBe(1);
    expect(second.signal().aborted).toBe(false);

    await advance(399);
    expect(breaker.inFlight).toBe(1);
    await advance(1);
    expect(await second.outcome).toBeInstanceOf(BreakerTimeoutError);
    expect(breaker.inFlight).toBe(0);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('gives a call that starts after an earlier one settled its full timeout', async () => {
    const { breaker, advance } = onFakeTimers({ timeout: 1_000 });
    const quick = deferred();
    const settled = breaker.execute(() => quick.promise);
    await advance(100);
    quick.resolve('ok');
    await settled;
    await advance(400);
    const slow = deferred();
    const call = breaker.execute(() => slow.promise);

    // The timer set for the first call's deadline fires at 500 ms; the clock moves with it.
    await advance(500);
    await advance(499);
    expect(breaker.inFlight).toBe(1);
    slow.resolve('in time');

    await expect(call).resolves.toBe('in time');
    expect(breaker.snapshot()).toMatchObject({ failures: 0, successes: 2 });
  });

  it('times out a call whose deadline comes first on the clock first, also when the clock went back', async () => {
    const { breaker, clock, advance } = onFakeTimers({ timeout: 1_000 });
    const first = hangingCall(breaker);
    clock.advance(-300);
    const second = hangingCall(breaker);

    await advance(999);
    expect(breaker.inFlight).toBe(2);
    await advance(1);
    expect(await second.outcome).toBeInstanceOf(BreakerTimeoutError);
    expect(first.signal().aborted).toBe(false);
    await advance(300);
    expect(await first.outcome).toBeInstanceOf(BreakerTimeoutError);
    expect(breaker.inFlight).toBe(0);
  });

  it('still times out running calls when the clock is set back an hour', async () => {
    const { breaker, clock, advance } = onFakeTimers({ timeout: 1_000 });
    const first = hangingCall(breaker);
    await advance(200);
    const second = hangingCall(breaker);
    clock.advance(-3_600_000);

    await advance(800);
    expect(await first.outcome).toBeInstanceOf(BreakerTimeoutError);
    expect(breaker.inFlight).toBe(1);
    await advance(200);
    expect(await second.outcome).toBeInstanceOf(BreakerTimeoutError);
    expect(breaker.inFlight).toBe(0);
  });

  it('starts no timer when no timeout is configured', async () => {
    const { breaker } = onFakeTimers({});
    let signal!: AbortSignal;
    const slow = deferred();
    const call = breaker.execute((s) => {
      signal = s;
      return slow.promise;
    });

    expect(jest.getTimerCount()).toBe(0);
    expect(signal.aborted).toBe(false);
    slow.resolve('ok');
    await call;
  });
});
