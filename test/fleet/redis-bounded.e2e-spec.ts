import { setTimeout as delay } from 'node:timers/promises';
import Redis from 'ioredis';
import type { BreakerOptions } from '../../src/core/breaker-options';
import { BreakerRegistry } from '../../src/core/registry';
import { KEYED_CLOSED_MS, READ_KEYED_MAX } from '../../src/stores/redis/redis-scripts';
import { RedisStore, type RedisStoreOptions } from '../../src/stores/redis/redis.store';
import {
  closeRedisClients,
  connectClient,
  deleteKeys,
  REDIS_URL,
  testPrefix,
} from '../support/redis-fixture';
import { eventually } from '../support/eventually';

/**
 * What a request-supplied key brings into Redis and into each instance's memory is bounded
 * (docs/stores.md, "What a key leaves in Redis"), and the fleet's guarantees still hold.
 */
const logger = { warn: jest.fn(), error: jest.fn(), log: jest.fn() };
const fail = () => Promise.reject(new Error('dependency down'));
const ok = () => Promise.resolve('ok');

/** What the store heard of each breaker (private: the bound under test). */
const heard = (store: RedisStore) => (store as unknown as { heard: Map<string, { gen: number }> }).heard;

describe('RedisStore: what per-key breakers leave in Redis and in each instance', () => {
  let prefix: string;
  let admin: Redis;
  const stores: RedisStore[] = [];

  beforeEach(() => {
    prefix = testPrefix();
    admin = new Redis(REDIS_URL);
  });

  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    await closeRedisClients();
    await deleteKeys(prefix);
    admin.disconnect();
  });

  async function instance(
    breakers: Record<string, BreakerOptions>,
    extra: Partial<RedisStoreOptions> = {},
    maxKeysPerBreaker = 100,
  ) {
    const store = new RedisStore(
      { type: 'redis', client: await connectClient('ioredis'), keyPrefix: prefix, heartbeat: 100, ...extra },
      logger,
    );
    stores.push(store);
    const registry = new BreakerRegistry({ breakers, auditLog: store.auditLog, maxKeysPerBreaker });
    await store.attach(registry);
    return { registry, store, breaker: (name: string, key?: string) => registry.get(name, key) };
  }

  /** The per-key breakers' state hashes Redis holds. */
  const keyedStates = async () => (await admin.keys(`${prefix}state:*#*`)).length;
  /** The per-key names listed for good (read by every instance at every read). */
  const keyedForGood = async () => (await admin.smembers(`${prefix}breakers`)).filter((n) => n.includes('#'));

  it('should leave no per-key state in Redis, and a bounded heard map, once 2,000 per-key breakers opened and closed', async () => {
    const hosts = { failureThreshold: 1, openDuration: 100, halfOpenMaxCalls: 1 };
    const a = await instance({ hosts });
    const b = await instance({ hosts });
    for (let chunk = 0; chunk < 20; chunk++) {
      const keys = Array.from({ length: 100 }, (_, i) => `k${chunk * 100 + i}`);
      await Promise.all(
        keys.map((k) =>
          a
            .breaker('hosts', k)
            .execute(fail)
            .catch(() => {}),
        ),
      );
      await eventually(
        async () => (await admin.hget(`${prefix}state:hosts#${keys[99]}`, 'state')) === 'open',
      );
      await delay(110);
      await Promise.all(keys.map((k) => a.breaker('hosts', k).execute(ok)));
      // Closed, or gone: an opening whose state expired (its open period twice over) before a busy
      // machine's trials closed it leaves nothing to close, which every instance reads as CLOSED.
      await eventually(async () =>
        [null, 'closed'].includes(await admin.hget(`${prefix}state:hosts#${keys[99]}`, 'state')),
      );
    }
    // B heard all 2,000 and keeps at most maxKeysPerBreaker of them (brought in as they opened).
    expect(heard(b.store).size).toBeGreaterThan(100);
    expect(b.registry.all().filter((breaker) => breaker.perKey !== undefined).length).toBeLessThanOrEqual(
      100,
    );
    expect(await admin.pttl(`${prefix}state:hosts#k1999`)).toBeGreaterThan(0);
    await delay(KEYED_CLOSED_MS + 100);
    expect(await keyedStates()).toBe(0);
    expect(await keyedForGood()).toEqual([]);
    // Forgotten at the next heartbeats, but for the breakers each instance keeps (100).
    await eventually(() => heard(b.store).size <= 100 && heard(a.store).size <= 100, 1_000);
  }, 60_000);

  it('should still open a per-key breaker on another instance and on one that starts later, its state expiring', async () => {
    const hosts = { failureThreshold: 1, openDuration: 60_000 };
    const a = await instance({ hosts });
    const b = await instance({ hosts });
    const there = b.breaker('hosts', 'api.example.com');
    await a
      .breaker('hosts', 'api.example.com')
      .execute(fail)
      .catch(() => {});
    await eventually(() => there.state === 'open');
    const c = await instance({ hosts });
    expect(c.breaker('hosts', 'api.example.com').state).toBe('open');
    // Kept for its open period and one more, then gone: no per-key name is listed for good.
    const ttl = await admin.pttl(`${prefix}state:hosts#api.example.com`);
    expect(ttl).toBeGreaterThan(60_000);
    expect(ttl).toBeLessThanOrEqual(120_000);
    expect(await keyedForGood()).toEqual([]);
  });

  it('should apply the next opening everywhere once an expired per-key state starts its generations over', async () => {
    const hosts = { failureThreshold: 1, openDuration: 100, halfOpenMaxCalls: 1 };
    const a = await instance({ hosts });
    const b = await instance({ hosts });
    const there = b.breaker('hosts', 'x');
    const here = a.breaker('hosts', 'x');
    await here.execute(fail).catch(() => {});
    await eventually(() => there.state === 'open');
    await delay(110);
    await here.execute(ok);
    await eventually(() => there.state === 'closed' && heard(b.store).get('hosts#x')?.gen === 2);
    await delay(KEYED_CLOSED_MS + 100);
    expect(await admin.exists(`${prefix}state:hosts#x`)).toBe(0);
    await here.execute(fail).catch(() => {});
    // Generation 1 again, heard after generation 2: applied, not taken for an older message.
    await eventually(() => there.state === 'open');
    expect(await admin.hget(`${prefix}state:hosts#x`, 'gen')).toBe('1');
    expect(heard(b.store).get('hosts#x')?.gen).toBe(1);
  });

  it("should keep an operator's trip of a per-key breaker on every instance, also one that starts later", async () => {
    const hosts = { failureThreshold: 1, openDuration: 100 };
    const a = await instance({ hosts });
    const b = await instance({ hosts });
    const there = b.breaker('hosts', 'tripped');
    await a.breaker('hosts', 'tripped').trip('maintenance');
    await eventually(() => there.state === 'forced_open');
    expect(await admin.pttl(`${prefix}state:hosts#tripped`)).toBe(-1);
    expect(await keyedForGood()).toEqual(['hosts#tripped']);
    await delay(KEYED_CLOSED_MS + 300);
    const c = await instance({ hosts });
    expect(c.breaker('hosts', 'tripped').state).toBe('forced_open');
    expect(there.state).toBe('forced_open');
    // Kept by the instances that do not keep its breaker too.
    const d = await instance({ hosts });
    await delay(300);
    expect(heard(d.store).get('hosts#tripped')).toMatchObject({ state: 'forced_open' });
    // Its reset reaches every instance, and leaves Redis.
    await c.breaker('hosts', 'tripped').reset({ reason: 'done', force: true });
    await eventually(() => there.state === 'closed');
    expect(await keyedForGood()).toEqual([]);
    expect(await admin.pttl(`${prefix}state:hosts#tripped`)).toBeGreaterThan(0);
  });

  it('should attach a new instance reading no per-key state that expired and at most READ_KEYED_MAX, the newest', async () => {
    const hosts = { failureThreshold: 1, openDuration: 50 };
    const a = await instance({ hosts });
    for (let i = 0; i < 3_000; i++)
      await a
        .breaker('hosts', `t${i}`)
        .execute(fail)
        .catch(() => {});
    await eventually(async () => (await admin.exists(`${prefix}state:hosts#t2999`)) === 1);
    await delay(KEYED_CLOSED_MS + 200);
    expect(await keyedStates()).toBe(0);
    // Per-key breakers open for long, more than a read takes: the newest are read.
    const until = Date.now() + 600_000;
    const seed = admin.pipeline();
    for (let i = 0; i < READ_KEYED_MAX + 1_000; i++) {
      const name = `hosts#s${i}`;
      seed.hset(`${prefix}state:${name}`, {
        state: 'open',
        gen: 1,
        openedAt: until - 300_000,
        until,
        openDuration: 300_000,
      });
      seed.pexpireat(`${prefix}state:${name}`, until + 300_000);
      seed.zadd(`${prefix}keyed`, until + i, name);
    }
    await seed.exec();
    const b = await instance({ hosts });
    expect(b.store.status().status).toBe('up');
    expect(heard(b.store).has(`hosts#s${READ_KEYED_MAX + 999}`)).toBe(true);
    expect(heard(b.store).has('hosts#s0')).toBe(false);
    expect(heard(b.store).size).toBe(READ_KEYED_MAX);
  }, 30_000);
});
