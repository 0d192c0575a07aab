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

describe('rate-limit keys from requests', () => {
  const EXPECTED = 'a string or a number, at most 256 characters long';

  /** A policy limited to one call a minute per tenant, the tenant being the call's first argument. */
  function perTenant(
    timers: FakeTimers,
    deps: { onEvent?: (e: PolicyEvent) => void; onFinalFailure?: () => void } = {},
  ) {
    return new Policies(
      'search',
      { rateLimit: { limit: 1, interval: 60_000, key: (tenant: string) => tenant } },
      { timers, ...deps },
    );
  }

  it.each([
    ['undefined (no key)', undefined],
    ['null', null],
    ['an object', { id: 1 }],
    ['an array', ['a']],
    ['a boolean', true],
    ['a string of 257 characters', 'x'.repeat(257)],
  ])(
    'should fail a call whose key is %s with INVALID_RATE_LIMIT_KEY naming the policy: no method, fallback, dead letter or token',
    async (_, key) => {
      const timers = fakeTimers();
      const events: PolicyEvent[] = [];
      let ran = 0;
      let served = 0;
      let finalFailures = 0;
      const policies = perTenant(timers, {
        onEvent: (e) => events.push(e),
        onFinalFailure: () => finalFailures++,
      });

      const error = await policies
        .execute(async () => ran++, { args: [key], fallback: () => served++ })
        .catch((e: unknown) => e);

      expect(error).toMatchObject({
        name: 'InvalidRateLimitKeyError',
        code: 'INVALID_RATE_LIMIT_KEY',
        policy: 'search',
        expected: EXPECTED,
        message: expect.stringContaining(`Policy "search": invalid rate-limit key`),
      });
      expect([ran, served, finalFailures, policies.running]).toEqual([0, 0, 0, 0]);
      // Reported, though no series counts it (the app logs it): nothing is refused unseen.
      expect(events).toEqual([{ kind: 'invalid_key', policy: 'search', error }]);
      // Nothing was taken from the bucket of '', where undefined once fell.
      expect(await outcomes(policies, 2, [''])).toEqual(['ok', 'RATE_LIMITED']);
    },
  );

  it('should never echo a long key in its message', async () => {
    const policies = perTenant(fakeTimers());
    const error = (await policies
      .execute(async () => 'ok', { args: ['\u001b'.repeat(1 << 20)] })
      .catch((e: unknown) => e)) as Error;
    expect(error.message).toBe(
      `Policy "search": invalid rate-limit key: a string of 1048576 characters; expected ${EXPECTED}`,
    );
  });

  it("should keep apart keys that once shared a bucket: no key reaches another key's bucket", async () => {
    const timers = fakeTimers();
    const policies = perTenant(timers);

    // Objects once all took the bucket of "[object Object]", null that of "null".
    expect(await outcomes(policies, 1, [{ id: 1 }])).toEqual(['INVALID_RATE_LIMIT_KEY']);
    expect(await outcomes(policies, 1, [{ id: 2 }])).toEqual(['INVALID_RATE_LIMIT_KEY']);
    expect(await outcomes(policies, 1, [null])).toEqual(['INVALID_RATE_LIMIT_KEY']);
    expect(await outcomes(policies, 2, ['null'])).toEqual(['ok', 'RATE_LIMITED']);
    expect(await outcomes(policies, 2, ['[object Object]'])).toEqual(['ok', 'RATE_LIMITED']);
    // undefined once took the bucket of '': a request without a tenant now fails, and '' is a key like any other.
    expect(await outcomes(policies, 1, [undefined])).toEqual(['INVALID_RATE_LIMIT_KEY']);
    expect(await outcomes(policies, 2, [''])).toEqual(['ok', 'RATE_LIMITED']);
  });

  it('should take a number for its decimal string, as a breaker key, and accept 256 characters', async () => {
    const policies = perTenant(fakeTimers());
    expect([...(await outcomes(policies, 1, [5])), ...(await outcomes(policies, 1, ['5']))]).toEqual([
      'ok',
      'RATE_LIMITED',
    ]);
    expect(await outcomes(policies, 2, ['x'.repeat(256)])).toEqual(['ok', 'RATE_LIMITED']);
  });

  it('should keep nothing of a flood of oversized keys from requests', async () => {
    const timers = fakeTimers();
    const policies = perTenant(timers);
    expect(await outcomes(policies, 1, ['tenant-a'])).toEqual(['ok']);

    const flood = new Set<string>();
    for (let i = 0; i < 200; i++) {
      flood.add(
        await policies
          .execute(async () => 'ok', { args: [String(i).padEnd(1 << 20, 'x')] })
          .catch((e: { code: string }) => e.code),
      );
    }

    expect([...flood]).toEqual(['INVALID_RATE_LIMIT_KEY']);
    expect(await outcomes(policies, 1, ['tenant-a'])).toEqual(['RATE_LIMITED']);
    expect(await outcomes(policies, 1, ['tenant-b'])).toEqual(['ok']);
  });
});

describe("a rate limit key's this", () => {
  it("should be the call's instance, and never the policies' own object", async () => {
    const seen: unknown[] = [];
    const policies = new Policies(
      'search',
      {
        rateLimit: {
          limit: 1,
          key: function (this: unknown, tenant: string) {
            seen.push(this);
            return tenant;
          },
        },
      },
      { timers: fakeTimers() },
    );
    const instance = { tenants: true };

    await policies.execute(async () => 'ok', { args: ['a'], instance });
    await policies.execute(async () => 'ok', { args: ['b'] });

    expect(seen).toEqual([instance, undefined]);
  });
});
