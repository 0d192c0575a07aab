import { NEVER, of, Subject, throwError } from 'rxjs';
import { Breaker } from '../../src/core/breaker';
import type { TrialLease } from '../../src/core/breaker-coordinator';
import { Policies } from '../../src/core/policies/policies';
import { callThroughBreaker, getCallSignal, observeThroughBreaker } from '../../src/nest/breaker-call';
import { observeThroughPolicies } from '../../src/nest/policy-call';
import { deferred, fakeClock } from '../core/breaker-test-kit';
import { fakeTimers } from '../core/policies/fake-timers';

/** A breaker that opens on one failure, on a fake clock. */
const payments = () =>
  new Breaker('payments', { failureThreshold: 1, openDuration: 60_000 }, { clock: fakeClock() });

describe('callThroughBreaker and calls made on its call path', () => {
  it('should count a call made inside another through the same breaker once, while the outer runs', async () => {
    const breaker = payments();
    const inner = jest.fn(() => 'inner');

    await callThroughBreaker(breaker, () => callThroughBreaker(breaker, inner));

    expect(inner).toHaveBeenCalledTimes(1);
    expect(breaker.snapshot()).toMatchObject({ calls: 1, successes: 1 });
  });

  it('should judge background work that outlives the call as a new call, rejected while the breaker is open', async () => {
    const breaker = payments();
    const gate = deferred<void>();
    const downstream = jest.fn(() => 'called');
    let background: Promise<unknown> | undefined;

    await callThroughBreaker(breaker, () => {
      // Fire and forget: it inherits the call's async context, and runs after the call ended.
      background = gate.promise.then(() => callThroughBreaker(breaker, downstream));
      return 'done';
    });
    await breaker.trip('downstream is down');
    gate.resolve();

    await expect(background).rejects.toMatchObject({ code: 'BREAKER_OPEN' });
    expect(downstream).not.toHaveBeenCalled();
    expect(breaker.snapshot()).toMatchObject({ rejected: 1 });
  });

  it('should count background work that outlives the call as a call of its own', async () => {
    const breaker = payments();
    const gate = deferred<void>();
    let background: Promise<unknown> | undefined;

    await callThroughBreaker(breaker, () => {
      background = gate.promise.then(() =>
        callThroughBreaker(breaker, () => Promise.reject(new Error('down'))),
      );
      return 'done';
    });
    gate.resolve();
    await background?.catch(() => undefined);

    expect(breaker.snapshot()).toMatchObject({ state: 'open', calls: 2, failures: 1 });
  });

  it('should judge a call after a timed-out outer call as a new call', async () => {
    const breaker = new Breaker('payments', { timeout: 1, failureThreshold: 10 });
    const hung = deferred<void>();
    let later: Promise<unknown> | undefined;

    const outer = callThroughBreaker(breaker, async () => {
      await hung.promise;
      later = callThroughBreaker(breaker, () => 'after the timeout');
    });
    await expect(outer).rejects.toMatchObject({ code: 'BREAKER_TIMEOUT' });
    hung.resolve();
    await new Promise((resolve) => setImmediate(resolve));

    await expect(later).resolves.toBe('after the timeout');
    expect(breaker.snapshot()).toMatchObject({ calls: 2, successes: 1, failures: 0.5 });
  });
});

describe('a call inside another breaker’s call', () => {
  /** Resolves with the reason the signal of the call it runs in is aborted with. */
  const abortReason = () =>
    new Promise((resolve) =>
      getCallSignal()?.addEventListener('abort', function (this: AbortSignal) {
        resolve(this.reason);
      }),
    );

  it.each([
    ['its own timeout', { timeout: 60_000 }],
    ['no timeout of its own', { timeout: false as const }],
  ])(
    'should abort the inner call’s signal (%s) when the outer breaker’s timeout gives the outer call up',
    async (_, inner) => {
      const outer = new Breaker('gateway', { timeout: 1 });
      const payments = new Breaker('payments', { ...inner, failureThreshold: 10 });
      let innerCall: Promise<unknown> | undefined;

      const call = callThroughBreaker(outer, () => (innerCall = callThroughBreaker(payments, abortReason)));

      await expect(call).rejects.toMatchObject({ code: 'BREAKER_TIMEOUT', breaker: 'gateway' });
      await expect(innerCall).resolves.toMatchObject({ code: 'BREAKER_TIMEOUT', breaker: 'gateway' });
      expect(payments.inFlight).toBe(0);
    },
  );

  it('should count a call nested in a running inner call once, after the outer call was given up', async () => {
    const outer = new Breaker('gateway', { timeout: 1 });
    const payments = new Breaker('payments', { timeout: 60_000 });
    const hung = deferred<void>();
    let innerCall: Promise<unknown> | undefined;

    const call = callThroughBreaker(
      outer,
      () =>
        (innerCall = callThroughBreaker(payments, async () => {
          await hung.promise;
          return callThroughBreaker(payments, () => 'paid');
        })),
    );
    await expect(call).rejects.toMatchObject({ code: 'BREAKER_TIMEOUT' });
    hung.resolve();

    await expect(innerCall).resolves.toBe('paid');
    expect(payments.snapshot()).toMatchObject({ calls: 1, successes: 1 });
  });

  it('should leave the inner call’s signal alone when the outer call ends in time', async () => {
    const outer = new Breaker('gateway', { timeout: 60_000 });
    const payments = new Breaker('payments', { timeout: 60_000 });
    let signal: AbortSignal | undefined;

    await callThroughBreaker(outer, () =>
      callThroughBreaker(payments, () => {
        signal = getCallSignal();
        return 'paid';
      }),
    );

    expect(signal?.aborted).toBe(false);
  });
});

describe('an Observable through policies and a breaker', () => {
  it('should count an attempt the total timeout ended as a failure of its breaker, not a success', async () => {
    const timers = fakeTimers();
    const policies = new Policies('quotes', { timeout: 1_000 }, { timers });
    const breaker = new Breaker('quotes', { failureThreshold: 2 }, { clock: fakeClock() });
    const errors: unknown[] = [];

    for (let i = 0; i < 2; i++) {
      observeThroughPolicies(policies, breaker, () => NEVER, undefined, []).subscribe({
        error: (e) => errors.push(e),
      });
      await timers.advance(1_000);
    }

    expect(errors).toEqual([
      expect.objectContaining({ code: 'TIMEOUT' }),
      expect.objectContaining({ code: 'TIMEOUT' }),
    ]);
    expect(breaker.snapshot()).toMatchObject({ state: 'open', failures: 2, successes: 0, inFlight: 0 });
  });

  it('should count an attempt its subscriber left as a success', async () => {
    const policies = new Policies('quotes', { timeout: 1_000 }, { timers: fakeTimers() });
    const breaker = new Breaker('quotes', {}, { clock: fakeClock() });

    observeThroughPolicies(policies, breaker, () => NEVER, undefined, [])
      .subscribe()
      .unsubscribe();
    await Promise.resolve();

    expect(breaker.snapshot()).toMatchObject({ failures: 0, successes: 1, inFlight: 0 });
  });
});

describe('an Observable whose subscriber leaves before its call starts', () => {
  const flush = async () => {
    for (let i = 0; i < 10; i++) await Promise.resolve();
  };

  it('should not subscribe the source once a trial waiting for its lease is unsubscribed, and decide nothing', async () => {
    const clock = fakeClock();
    const breaker = new Breaker('payments', { failureThreshold: 1, openDuration: 1_000 }, { clock });
    const lease = deferred<TrialLease>();
    breaker.coordinateWith({ coordinate: () => undefined, claimTrial: () => lease.promise });
    await breaker.execute(() => Promise.reject(new Error('down'))).catch(() => undefined);
    clock.advance(1_000);
    const source = jest.fn(() => of('quote'));

    observeThroughBreaker(breaker, source)
      .subscribe({ error: () => undefined })
      .unsubscribe();
    const settled = jest.fn();
    lease.resolve({ settle: settled });
    await flush();

    expect(source).not.toHaveBeenCalled();
    expect(settled).toHaveBeenCalledWith('ignored');
    expect(breaker.snapshot()).toMatchObject({ state: 'half_open', inFlight: 0 });
  });

  it('should make no attempt for a subscriber that left while queued in a bulkhead or waiting to retry', async () => {
    const timers = fakeTimers();
    const queued = new Policies('export', { bulkhead: { maxConcurrent: 1, maxQueue: 1 } }, { timers });
    const first = new Subject<string>();
    const sources = { first: jest.fn(() => first), second: jest.fn(() => of('second')) };
    const running = observeThroughPolicies(queued, undefined, sources.first, undefined, []).subscribe();
    observeThroughPolicies(queued, undefined, sources.second, undefined, []).subscribe().unsubscribe();
    first.complete();
    await flush();
    expect(sources.second).not.toHaveBeenCalled();
    expect(queued.bulkhead).toMatchObject({ active: 0, queued: 0 });
    running.unsubscribe();

    const retried = new Policies('flaky', { retry: { attempts: 1, delay: 100, jitter: 'none' } }, { timers });
    const flaky = jest.fn(() => throwError(() => new Error('reset')));
    const waiting = observeThroughPolicies(retried, undefined, flaky, undefined, []).subscribe({
      error: () => undefined,
    });
    await flush();
    waiting.unsubscribe();
    await timers.advance(100);
    expect(flaky).toHaveBeenCalledTimes(1);
    expect(retried.running).toBe(0);
  });
});
