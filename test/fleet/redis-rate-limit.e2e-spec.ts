import { Controller, Get } from '@nestjs/common';
import type { ChildProcess } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { Policies } from '../../src/core/policies/policies';
import type { RateLimitOptions } from '../../src/core/policies/policy-options';
import { BreakerRegistry } from '../../src/core/registry';
import { RateLimit } from '../../src/nest/policy.decorators';
import type { NodeRedisClientLike, RedisClient } from '../../src/stores/redis/redis-client';
import { RedisStore } from '../../src/stores/redis/redis.store';
import { fakeTimers } from '../core/policies/fake-timers';
import { closeAllApps, createApp } from '../nest/nest-app.fixture';
import { killHard } from '../support/child-process';
import { eventually } from '../support/eventually';
import { freezableProxy } from '../support/freezable-proxy';
import {
  closeRedisClients,
  connectClient,
  deleteKeys,
  REDIS_LIBRARIES,
  REDIS_URL,
  startRedisServer,
  testPrefix,
  type RedisLibrary,
} from '../support/redis-fixture';

const logger = { warn: jest.fn(), error: jest.fn(), log: jest.fn() };
const COMMAND_TIMEOUT = 100;

let prefix: string;
const stores: RedisStore[] = [];

beforeEach(() => {
  prefix = testPrefix();
});

afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
  await closeAllApps();
  await closeRedisClients();
  await deleteKeys(prefix);
});

/** One instance of the fleet: a store on its own connection (an app's client, or one of a url), attached to a registry. */
async function instanceStore(
  connection: RedisClient | string,
  commandTimeout = COMMAND_TIMEOUT,
): Promise<RedisStore> {
  const store = new RedisStore(
    {
      type: 'redis',
      ...(typeof connection === 'string' ? { url: connection } : { client: connection }),
      keyPrefix: prefix,
      commandTimeout,
    },
    logger,
  );
  stores.push(store);
  await store.attach(new BreakerRegistry({ auditLog: store.auditLog }));
  return store;
}

/** A policy limited fleet-wide through `store`; its local clock never moves, so only Redis' can refill. */
function fleetLimited(store: RedisStore, rateLimit: RateLimitOptions, policy = 'search'): Policies {
  return new Policies(
    policy,
    { rateLimit: { ...rateLimit, scope: 'fleet' } },
    { timers: fakeTimers(), sharedRateLimits: store.rateLimits },
    { fleetStore: true },
  );
}

/** The Redis keys of the fleet's rate-limit buckets under the test's prefix, with the ms each has left. */
async function rateLimitKeys(): Promise<Array<[key: string, pttl: number]>> {
  const client = (await connectClient('ioredis')) as unknown as {
    keys(pattern: string): Promise<string[]>;
    pttl(key: string): Promise<number>;
  };
  const keys = await client.keys(`${prefix}ratelimit:*`);
  return Promise.all(keys.map(async (key): Promise<[string, number]> => [key, await client.pttl(key)]));
}

const call = (policies: Policies, args: unknown[] = []) =>
  policies.execute(async () => 'ok', { args }).catch((e: { code: string }) => e.code);

describe.each(REDIS_LIBRARIES)('fleet rate limit with a %s client', (library: RedisLibrary) => {
  it('should share one bucket between instances: limit calls in all', async () => {
    const a = fleetLimited(await instanceStore(await connectClient(library)), { limit: 4, interval: 60_000 });
    const b = fleetLimited(await instanceStore(await connectClient(library)), { limit: 4, interval: 60_000 });

    const outcomes = [
      await call(a),
      await call(b),
      await call(a),
      await call(b),
      await call(a),
      await call(b),
    ];

    expect(outcomes).toEqual(['ok', 'ok', 'ok', 'ok', 'RATE_LIMITED', 'RATE_LIMITED']);
    const refused = await a.execute(async () => 'ok').catch((error: { retryAfterMs: number }) => error);
    expect(refused).toMatchObject({ retryAfterMs: expect.closeTo(15_000, -3) });
    // Whole ms, as an instance's own bucket answers (Redis' clock reads microseconds).
    expect(Number.isInteger((refused as { retryAfterMs: number }).retryAfterMs)).toBe(true);
  });

  it('should keep one shared bucket per rate-limit key', async () => {
    const options = { limit: 1, interval: 60_000, key: (region: unknown) => String(region) };
    const a = fleetLimited(await instanceStore(await connectClient(library)), options);
    const b = fleetLimited(await instanceStore(await connectClient(library)), options);

    expect([await call(a, ['eu']), await call(b, ['us']), await call(b, ['eu'])]).toEqual([
      'ok',
      'ok',
      'RATE_LIMITED',
    ]);
  });

  it("should never let a key reach another policy's bucket, whatever characters it holds", async () => {
    const store = await instanceStore(await connectClient(library));
    const options = { limit: 1, interval: 60_000, key: (k: unknown) => String(k) };
    const search = fleetLimited(store, options, 'search');
    const searchEu = fleetLimited(store, options, 'search:eu');

    // Without an unambiguous key, policy "search" with key "eu:x" and policy "search:eu" with key "x" share one bucket.
    expect([await call(searchEu, ['x']), await call(search, ['eu:x'])]).toEqual(['ok', 'ok']);
  });

  it('should write nothing to Redis for a key from a request no bucket can have', async () => {
    const client = await connectClient(library);
    const a = fleetLimited(await instanceStore(client), {
      limit: 1,
      interval: 3_600_000,
      key: (tenant: unknown) => tenant as string,
    });

    const outcomes = new Set<string>();
    for (let i = 0; i < 50; i++) outcomes.add(await call(a, [`tenant-${i}-`.padEnd(64 * 1024, 'x')]));
    for (const key of [undefined, null, { id: 1 }, ['a']]) outcomes.add(await call(a, [key]));

    expect([...outcomes]).toEqual(['INVALID_RATE_LIMIT_KEY']);
    expect(await rateLimitKeys()).toEqual([]);
  });

  it('should keep apart keys that Redis would spell alike, each bucket no longer than its key allows', async () => {
    const a = fleetLimited(await instanceStore(await connectClient(library)), {
      limit: 1,
      interval: 60_000,
      key: (tenant: unknown) => tenant as string,
    });

    // Lone surrogates (JSON.parse makes them from "\ud800") are each U+FFFD once sent as UTF-8.
    expect([await call(a, ['\ud800']), await call(a, ['\udc00']), await call(a, ['\ufffd'])]).toEqual([
      'ok',
      'ok',
      'ok',
    ]);
    expect([await call(a, ['x'.repeat(256)]), await call(a, ['x'.repeat(256)])]).toEqual([
      'ok',
      'RATE_LIMITED',
    ]);
    const keys = await rateLimitKeys();
    expect(keys).toHaveLength(4);
    for (const [key, pttl] of keys) {
      expect(key.length).toBeLessThanOrEqual(prefix.length + 300);
      // Gone once its bucket is full again: interval / limit after its one call, and a second.
      expect(pttl).toBeGreaterThan(55_000);
      expect(pttl).toBeLessThanOrEqual(61_000);
    }
  });

  it("should refill on Redis' clock, whatever the instance's clock says", async () => {
    const a = fleetLimited(await instanceStore(await connectClient(library)), {
      limit: 10,
      interval: 1_000,
      burst: 2,
    });
    expect([await call(a), await call(a), await call(a)]).toEqual(['ok', 'ok', 'RATE_LIMITED']);

    await delay(250);

    expect([await call(a), await call(a), await call(a)]).toEqual(['ok', 'ok', 'RATE_LIMITED']);
  });
});

describe('fleet rate limit while Redis is away', () => {
  it("should let the instance's bucket decide at once when Redis cannot be reached", async () => {
    const a = fleetLimited(await instanceStore('redis://127.0.0.1:1'), { limit: 2, interval: 60_000 });

    const started = Date.now();
    expect([await call(a), await call(a), await call(a)]).toEqual(['ok', 'ok', 'RATE_LIMITED']);
    expect(Date.now() - started).toBeLessThan(COMMAND_TIMEOUT);
  });

  it('should wait on a Redis that stops answering no longer than commandTimeout, then decide locally', async () => {
    const real = (await connectClient('node-redis')) as NodeRedisClientLike;
    let answering = true;
    const client: NodeRedisClientLike = {
      sendCommand: (args) => (answering ? real.sendCommand(args) : new Promise(() => {})),
      duplicate: () => real.duplicate(),
      on: (event, listener) => real.on(event, listener),
      get isReady() {
        return real.isReady;
      },
    };
    const a = fleetLimited(await instanceStore(client), { limit: 2, interval: 60_000 });
    expect(await call(a)).toBe('ok');

    answering = false;
    const started = Date.now();
    expect(await call(a)).toBe('ok');
    const first = Date.now() - started;
    expect([await call(a), await call(a)]).toEqual(['ok', 'RATE_LIMITED']);

    expect(first).toBeGreaterThanOrEqual(COMMAND_TIMEOUT - 5);
    expect(first).toBeLessThan(COMMAND_TIMEOUT * 3);
    expect(Date.now() - started - first).toBeLessThan(COMMAND_TIMEOUT);
  });
});

describe('fleet rate limit over a link that stalls', () => {
  // A Redis of its own (a stall test), on a port no other suite uses.
  const port = 21_440 + Math.floor(Math.random() * 1_000);
  let server: ChildProcess;

  beforeAll(async () => {
    server = await startRedisServer(port);
  });

  afterAll(() => killHard(server));

  it('should take no token for a take that timed out, when the link delivers it late', async () => {
    const proxy = await freezableProxy(port);
    try {
      const limit = { limit: 1, interval: 60_000 };
      // Generous, so that nothing but the stall (no busy machine) makes it time out.
      const store = await instanceStore(`redis://127.0.0.1:${proxy.port}`, 500);
      const a = fleetLimited(store, limit);
      const b = fleetLimited(await instanceStore(`redis://127.0.0.1:${port}`), limit);
      // a's first heartbeat answered (the freeze would time it out too).
      await eventually(() => (store.stats().instances ?? 0) > 0, 1_000);

      proxy.freeze();
      // No answer within commandTimeout: a's own bucket decided.
      expect(await call(a)).toBe('ok');
      expect(Object.entries(store.stats().errors).filter(([, count]) => count > 0)).toEqual([
        ['rate_limit', 1],
      ]);
      await delay(50);
      proxy.thaw();
      await delay(100);

      // The fleet's token is still there: the take a gave up on took nothing when it ran late.
      expect(await call(b)).toBe('ok');
      expect(await call(b)).toBe('RATE_LIMITED');
    } finally {
      await proxy.close();
    }
  });
});

@Controller()
class SearchController {
  @RateLimit({ limit: 3, interval: 60_000, scope: 'fleet' })
  @Get('search')
  async search(): Promise<string> {
    return 'results';
  }
}

describe('fleet rate limit over HTTP', () => {
  it('should answer 429 with Retry-After once two apps together reach the limit', async () => {
    const app = () =>
      createApp(
        { controllers: [SearchController] },
        // Generous: a loaded machine must not make Redis look down here.
        { store: { type: 'redis', url: REDIS_URL, keyPrefix: prefix, commandTimeout: 2_000 } },
      );
    const [a, b] = [await app(), await app()];

    await a.http().get('/search').expect(200, 'results');
    await b.http().get('/search').expect(200);
    await a.http().get('/search').expect(200);
    const refused = await b.http().get('/search').expect(429);

    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(19);
    expect(refused.body).toMatchObject({ code: 'RATE_LIMITED', policy: 'SearchController.search' });
  });
});
