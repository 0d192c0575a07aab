import { Breaker } from '../../src/core/breaker';
import { callThroughBreaker } from '../../src/nest/breaker-call';
import { deferred, fakeClock } from '../core/breaker-test-kit';

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
