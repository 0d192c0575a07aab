import { Policies } from '../../../src/core/policies/policies';
import type { PolicyEvent } from '../../../src/core/policies/policy-events';
import type { BulkheadOptions } from '../../../src/core/policies/policy-options';
import { fakeTimers, type FakeTimers } from './fake-timers';

function bulkheaded(bulkhead: BulkheadOptions, timers: FakeTimers, events: PolicyEvent[] = []) {
  return new Policies('reports', { bulkhead }, { timers, onEvent: (e) => events.push(e) });
}

/** A call the test finishes by hand. */
function hold(policies: Policies) {
  let finish!: () => void;
  let started = false;
  const promise = policies.execute(
    () =>
      new Promise<string>((resolve) => {
        started = true;
        finish = () => resolve('done');
      }),
  );
  promise.catch(() => undefined);
  return { promise, finish: () => finish(), started: () => started };
}

describe('bulkhead', () => {
  it('should run at most maxConcurrent calls and refuse the next with BulkheadFullError', async () => {
    const timers = fakeTimers();
    const events: PolicyEvent[] = [];
    const policies = bulkheaded({ maxConcurrent: 2 }, timers, events);
    const [a, b, c] = [hold(policies), hold(policies), hold(policies)];
    await expect(c.promise).rejects.toMatchObject({
      code: 'BULKHEAD_FULL',
      policy: 'reports',
      retryAfterMs: 1_000,
      queued: false,
    });
    expect(policies.bulkhead?.active).toBe(2);
    expect(events).toEqual([{ kind: 'rejected', policy: 'reports', reason: 'bulkhead_full' }]);
    a.finish();
    b.finish();
    await expect(Promise.all([a.promise, b.promise])).resolves.toEqual(['done', 'done']);
    expect(policies.bulkhead?.active).toBe(0);
  });

  it('should queue up to maxQueue calls and start the longest waiting one when a slot frees', async () => {
    const timers = fakeTimers();
    const policies = bulkheaded({ maxConcurrent: 1, maxQueue: 2 }, timers);
    const [a, b, c, d] = [hold(policies), hold(policies), hold(policies), hold(policies)];
    await expect(d.promise).rejects.toMatchObject({ code: 'BULKHEAD_FULL' });
    expect([b.started(), c.started(), policies.bulkhead?.queued]).toEqual([false, false, 2]);
    a.finish();
    await timers.advance(0);
    expect([b.started(), c.started()]).toEqual([true, false]);
    b.finish();
    await timers.advance(0);
    expect(c.started()).toBe(true);
    c.finish();
    await expect(c.promise).resolves.toBe('done');
  });

  it('should fail a call queued longer than queueTimeout, and start no call for it later', async () => {
    const timers = fakeTimers();
    const policies = bulkheaded({ maxConcurrent: 1, maxQueue: 5, queueTimeout: 300 }, timers);
    const [a, b] = [hold(policies), hold(policies)];
    await timers.advance(299);
    expect(policies.bulkhead?.queued).toBe(1);
    await timers.advance(1);
    await expect(b.promise).rejects.toMatchObject({ code: 'BULKHEAD_FULL', queued: true });
    expect(policies.bulkhead?.queued).toBe(0);
    a.finish();
    await timers.advance(0);
    expect(b.started()).toBe(false);
    expect(timers.pending).toBe(0);
  });

  it('should free the slot of a call that fails', async () => {
    const timers = fakeTimers();
    const policies = bulkheaded({ maxConcurrent: 1 }, timers);
    await expect(policies.execute(() => Promise.reject(new Error('down')))).rejects.toThrow('down');
    await expect(policies.execute(async () => 'ok')).resolves.toBe('ok');
  });
});
