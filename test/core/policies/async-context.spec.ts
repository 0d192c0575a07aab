import { AsyncLocalStorage } from 'node:async_hooks';
import { Breaker } from '../../../src/core/breaker';
import { Policies } from '../../../src/core/policies/policies';
import type { CallSignal } from '../../../src/core/policies/call-signal';
import { fakeTimers } from './fake-timers';

/** A request's context, as nestjs-cls or a request-id logger keeps it. */
const request = new AsyncLocalStorage<string>();

/** A call that records the request it sees, in its body and when its signal aborts, then hangs until `release`. */
function recording(seen: string[]) {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const run = (call?: CallSignal | AbortSignal) => {
    seen.push(`ran in ${request.getStore()}`);
    const signal = call === undefined ? undefined : 'signal' in call ? call.signal : call;
    signal?.addEventListener('abort', () => seen.push(`aborted in ${request.getStore()}`));
    return released.then(() => 'done');
  };
  return { run, release: () => release() };
}

describe('each call keeps its own async context (a request’s AsyncLocalStorage)', () => {
  it('should start a call queued in a bulkhead in its own caller’s context, not in the context of the call that freed the slot', async () => {
    const policies = new Policies(
      'reports',
      { bulkhead: { maxConcurrent: 1, maxQueue: 1 } },
      { timers: fakeTimers() },
    );
    const seen: string[] = [];
    const a = recording(seen);
    const b = recording(seen);

    const first = request.run('request-A', () => policies.execute(a.run));
    const queued = request.run('request-B', () => policies.execute(b.run));
    a.release();
    await first;
    b.release();
    await queued;

    expect(seen).toEqual(['ran in request-A', 'ran in request-B']);
  });

  it('should abort each call’s signal in that call’s context when one timer ends several total timeouts', async () => {
    const timers = fakeTimers();
    const policies = new Policies('reports', { timeout: 1_000 }, { timers });
    const seen: string[] = [];
    const calls = ['request-A', 'request-B'].map((id) => {
      const call = recording(seen);
      return request.run(id, () => policies.execute(call.run).catch((e: { code: string }) => e.code));
    });

    await request.run('request-C', () => timers.advance(1_000));

    await expect(Promise.all(calls)).resolves.toEqual(['TIMEOUT', 'TIMEOUT']);
    expect(seen).toEqual([
      'ran in request-A',
      'ran in request-B',
      'aborted in request-A',
      'aborted in request-B',
    ]);
  });

  it('should run what the breaker’s timeout ends in no call’s context, and abort each call’s signal in its own', async () => {
    jest.useFakeTimers();
    try {
      const breaker = new Breaker('payments', { timeout: 1_000 });
      const states: Array<string | undefined> = [];
      breaker.on('timeout', () => states.push(`timeout event in ${request.getStore()}`));
      const seen: string[] = [];
      const calls = ['request-A', 'request-B'].map((id) => {
        const call = recording(seen);
        return request.run(id, () => breaker.execute(call.run).catch((e: { code: string }) => e.code));
      });

      jest.advanceTimersByTime(1_000);

      await expect(Promise.all(calls)).resolves.toEqual(['BREAKER_TIMEOUT', 'BREAKER_TIMEOUT']);
      expect(seen).toEqual([
        'ran in request-A',
        'ran in request-B',
        'aborted in request-A',
        'aborted in request-B',
      ]);
      expect(states).toEqual(['timeout event in undefined', 'timeout event in undefined']);
    } finally {
      jest.useRealTimers();
    }
  });
});
