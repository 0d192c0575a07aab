import { Policies } from '../../../src/core/policies/policies';
import type { PolicyEvent } from '../../../src/core/policies/policy-events';
import type { RateLimitOptions } from '../../../src/core/policies/policy-options';
import type { SharedBucket, SharedRateLimits } from '../../../src/core/policies/shared-rate-limits';
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

  it('should let exactly limit calls through per interval under steady load, each refusal a whole number of ms', async () => {
    const timers = fakeTimers();
    const policies = limited({ limit: 100, interval: 1_000, burst: 1 }, timers);
    const waits = new Set<number>();
    let allowed = 0;
    for (let ms = 0; ms < 2_000; ms++) {
      await policies
        .execute(async () => allowed++)
        .catch((e: { retryAfterMs: number }) => waits.add(e.retryAfterMs));
      await timers.advance(1);
    }
    expect(allowed).toBe(200);
    expect([...waits].sort((a, b) => a - b)).toEqual(Array.from({ length: 9 }, (_, i) => i + 1));
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

describe('fleet rate limit', () => {
  /** A fleet's bucket that answers what `answers` says, recording what it is asked. */
  function fleetBuckets(answers: Array<number | undefined>) {
    const asked: SharedBucket[] = [];
    const fleet: SharedRateLimits = {
      take: async (bucket) => {
        asked.push(bucket);
        return answers.shift();
      },
    };
    return { fleet, asked };
  }

  function fleetLimited(rateLimit: RateLimitOptions, timers: FakeTimers, fleet: SharedRateLimits) {
    return new Policies(
      'search',
      { rateLimit: { ...rateLimit, scope: 'fleet' }, bulkhead: { maxConcurrent: 1 } },
      { timers, sharedRateLimits: fleet },
      { fleetStore: true },
    );
  }

  it("should let the fleet's bucket decide, with its retryAfterMs, and ask for the call's key", async () => {
    const timers = fakeTimers();
    const { fleet, asked } = fleetBuckets([0, 40]);
    const policies = fleetLimited(
      { limit: 10, interval: 1_000, burst: 3, key: (id) => String(id) },
      timers,
      fleet,
    );

    await expect(policies.execute(async () => 'ok', { args: ['eu'] })).resolves.toBe('ok');
    await expect(policies.execute(async () => 'ok', { args: ['eu'] })).rejects.toMatchObject({
      code: 'RATE_LIMITED',
      retryAfterMs: 40,
    });
    expect(asked).toEqual([
      { policy: 'search', key: 'eu', burst: 3, perMs: 0.01 },
      { policy: 'search', key: 'eu', burst: 3, perMs: 0.01 },
    ]);
    expect(policies.bulkhead?.active).toBe(0);
  });

  it("should fall back on the instance's own bucket while the fleet's cannot decide", async () => {
    const timers = fakeTimers();
    const { fleet } = fleetBuckets([]);
    const policies = fleetLimited({ limit: 10, interval: 1_000, burst: 2 }, timers, fleet);

    expect(await outcomes(policies, 3)).toEqual(['ok', 'ok', 'RATE_LIMITED']);
  });

  it('should never ask the fleet for a limit of scope instance', async () => {
    const timers = fakeTimers();
    const { fleet, asked } = fleetBuckets([]);
    const policies = new Policies('search', { rateLimit: { limit: 1 } }, { timers, sharedRateLimits: fleet });

    expect(await outcomes(policies, 2)).toEqual(['ok', 'RATE_LIMITED']);
    expect(asked).toEqual([]);
  });
});
