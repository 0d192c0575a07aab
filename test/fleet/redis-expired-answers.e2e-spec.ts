/**
 * A script that reaches Redis after its deadline changes nothing and answers `expired`: its
 * instance took it as not applied. Such an answer is a failed command of its operation in
 * `stats().errors` (`circuit_breaker_store_errors_total{operation}`), whichever script it was:
 * a fleet transition, an audit entry, a fleet rate limit's take, a heartbeat.
 */
import { setTimeout as delay } from 'node:timers/promises';
import Redis from 'ioredis';
import type { Clock } from '../../src/core/clock';
import { Policies } from '../../src/core/policies/policies';
import { BreakerRegistry } from '../../src/core/registry';
import { RedisStore } from '../../src/stores/redis/redis.store';
import { fakeTimers } from '../core/policies/fake-timers';
import { eventually } from '../support/eventually';
import { deleteKeys, REDIS_URL, testPrefix } from '../support/redis-fixture';

const silent = { warn: () => undefined, error: () => undefined, log: () => undefined };

/** The system clock, which the test can set back (an NTP step, a VM resumed). */
type SteppableClock = Clock & { back(ms: number): void };

function steppableClock(): SteppableClock {
  let offset = 0;
  return { now: () => Date.now() + offset, back: (ms) => (offset -= ms) };
}

/** The operations with failed commands. */
const failed = (store: RedisStore) =>
  Object.fromEntries(Object.entries(store.stats().errors).filter(([, count]) => count > 0));

describe("RedisStore: a script's late answer (expired) is a failed command of its operation", () => {
  const prefix = testPrefix();
  const stores: RedisStore[] = [];
  const cleanups: Array<() => unknown> = [];
  let admin: Redis;

  beforeAll(() => {
    admin = new Redis(REDIS_URL);
  });

  afterAll(() => admin.disconnect());

  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    for (const cleanup of cleanups.splice(0)) cleanup();
    await deleteKeys(prefix);
  });

  /** An app's ioredis client that tells how many of its commands wait for an answer. */
  function countingClient() {
    const io = new Redis(REDIS_URL);
    cleanups.push(() => io.disconnect());
    let waiting = 0;
    const client = new Proxy(io, {
      get(target, property) {
        if (property === 'call')
          return (...args: string[]) => {
            waiting++;
            return target.call(...(args as [string])).finally(() => waiting--);
          };
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    return { client, idle: () => waiting === 0 };
  }

  async function instance(clock: SteppableClock, heartbeat = 60_000) {
    const { client, idle } = countingClient();
    const store = new RedisStore(
      { type: 'redis', client, keyPrefix: prefix, heartbeat, commandTimeout: 250 },
      silent,
      { clock },
    );
    stores.push(store);
    const registry = new BreakerRegistry({
      breakers: { payments: {}, local: { shared: false, failureThreshold: 1 } },
      auditLog: store.auditLog,
    });
    await store.attach(registry);
    await eventually(() => store.stats().instances === 1, 1_000);
    /**
     * Steps the clock back between two commands: a command sent before the step and answered
     * after it would tell the store the step at once.
     */
    const stepBack = async (ms: number) => {
      await eventually(idle, 1_000, 1);
      clock.back(ms);
    };
    return { store, registry, stepBack };
  }

  it('should count an expired rate-limit take, audit entry and manual action alike, each under its operation', async () => {
    const clock = steppableClock();
    const { store, registry, stepBack } = await instance(clock);
    const search = new Policies(
      'search',
      { rateLimit: { limit: 5, interval: 60_000, scope: 'fleet' } },
      { timers: fakeTimers(), sharedRateLimits: store.rateLimits },
      { fleetStore: true },
    );
    expect(failed(store)).toEqual({});

    // The instance's clock steps back a minute: the deadlines it dates until it hears Redis' clock
    // again have passed on Redis.
    await stepBack(60_000);
    // The instance's own bucket decided: Redis took no token.
    expect(await search.execute(async () => 'ok')).toBe('ok');
    expect(await admin.keys(`${prefix}ratelimit:*`)).toEqual([]);
    expect(failed(store)).toEqual({ rate_limit: 1 });

    // A transition of a breaker that is not shared: its instance writes the entry.
    await registry
      .get('local')
      .execute(() => Promise.reject(new Error('down')))
      .catch(() => undefined);
    await eventually(() => (store.stats().errors.audit ?? 0) > 0, 1_000);
    expect(await admin.xlen(`${prefix}audit:transitions`)).toBe(0);
    expect(failed(store)).toEqual({ rate_limit: 1, audit: 1 });

    // A fleet action (counted already, the reference): its answer carries Redis' clock again.
    await registry.get('payments').trip('maintenance', 'alice');
    expect(failed(store)).toEqual({ rate_limit: 1, audit: 1, control: 1 });
    // Late answers are not an outage: Redis answered.
    expect(store.status().status).toBe('up');
  });

  it('should count an expired heartbeat', async () => {
    const clock = steppableClock();
    const { store, stepBack } = await instance(clock, 20);
    await delay(60);
    expect(failed(store)).toEqual({});

    await stepBack(60_000);
    await eventually(() => (store.stats().errors.heartbeat ?? 0) > 0, 1_000);
    await delay(100); // more heartbeats, dated on the clock the expired one measured

    expect(failed(store)).toEqual({ heartbeat: 1 });
    expect(store.status().status).toBe('up');
  });
});
