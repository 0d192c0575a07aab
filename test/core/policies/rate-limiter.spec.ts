import { Policies } from '../../../src/core/policies/policies';
import type { PolicyEvent } from '../../../src/core/policies/policy-events';
import type { RateLimitOptions } from '../../../src/core/policies/policy-options';
import { fakeTimers, type FakeTimers } from './fake-timers';

function limited(rateLimit: RateLimitOptions, timers: FakeTimers, events: PolicyEvent[] = []) {
  return new Policies('search', { rateLimit }, { timers, onEvent: (e) => events.push(e) });
}

async function outcomes(policies: Policies, calls: number, args: unknown[] = []): Promise<string[]> {
  const results: string[] = [];
  for (let i = 0; i < calls; i++) {
    results.push(await policies.execute(async () => 'ok', { args }).catch((e: { code: string }) => e.code));
  }
  return results;
}

describe('rate limit', () => {
  it('should let a burst through at once, then refuse with RATE_LIMITED and when the next token is due', async () => {
    const timers = fakeTimers();
    const events: PolicyEvent[] = [];
    const policies = limited({ limit: 10, interval: 1_000, burst: 3 }, timers, events);
    expect(await outcomes(policies, 4)).toEqual(['ok', 'ok', 'ok', 'RATE_LIMITED']);
    await expect(policies.execute(async () => 'ok')).rejects.toMatchObject({
      code: 'RATE_LIMITED',
      policy: 'search',
      retryAfterMs: 100,
    });
    expect(events).toHaveLength(2);
    expect(events[0]).toEqual({ kind: 'rejected', policy: 'search', reason: 'rate_limited' });
  });

  it('should refill continuously, limit tokens per interval, up to burst', async () => {
    const timers = fakeTimers();
    const policies = limited({ limit: 10, interval: 1_000 }, timers);
    expect(await outcomes(policies, 11)).toEqual([...Array<string>(10).fill('ok'), 'RATE_LIMITED']);
    await timers.advance(250);
    expect(await outcomes(policies, 3)).toEqual(['ok', 'ok', 'RATE_LIMITED']);
    await timers.advance(60_000);
    expect(await outcomes(policies, 11)).toEqual([...Array<string>(10).fill('ok'), 'RATE_LIMITED']);
  });

  it('should report the time until one token in retryAfterMs', async () => {
    const timers = fakeTimers();
    const policies = limited({ limit: 2, interval: 1_000, burst: 1 }, timers);
    await outcomes(policies, 1);
    await timers.advance(100);
    await expect(policies.execute(async () => 'ok')).rejects.toMatchObject({ retryAfterMs: 400 });
  });

  it('should keep one bucket per key', async () => {
    const timers = fakeTimers();
    const policies = limited({ limit: 1, key: (tenant: string) => tenant }, timers);
    expect(await outcomes(policies, 2, ['a'])).toEqual(['ok', 'RATE_LIMITED']);
    expect(await outcomes(policies, 2, ['b'])).toEqual(['ok', 'RATE_LIMITED']);
  });

  it('should report the share of refused calls', async () => {
    const timers = fakeTimers();
    const policies = limited({ limit: 1 }, timers);
    await outcomes(policies, 4);
    expect(policies.rateLimiter?.refusedShare()).toBe(0.75);
  });
});

describe('rate limit refusals over time', () => {
  it('should forget the refusals of spans older than 10 s', async () => {
    const timers = fakeTimers();
    const policies = limited({ limit: 1, interval: 60_000 }, timers);
    await outcomes(policies, 4);
    await timers.advance(10_000);
    expect(policies.rateLimiter?.refusedShare()).toBe(0.75);
    await timers.advance(10_000);
    expect(policies.rateLimiter?.refusedShare()).toBe(0);
  });
});
