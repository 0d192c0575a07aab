/**
 * The store sends its Lua scripts by their SHA1 (EVALSHA): a script's body crosses the wire as
 * the connection becomes ready (SCRIPT LOAD), and again only for a Redis that lost it (answered
 * NOSCRIPT: after SCRIPT FLUSH, a failover unnoticed), not with every command. A fleet rate limit runs a script per call.
 * SCRIPT FLUSH is tried on a redis-server of the test's own, never on the shared one.
 */
import type { ChildProcess } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import Redis from 'ioredis';
import { Policies } from '../../src/core/policies/policies';
import { BreakerRegistry } from '../../src/core/registry';
import { RedisStore } from '../../src/stores/redis/redis.store';
import { RATE_LIMIT_SCRIPT } from '../../src/stores/redis/redis-scripts';
import { fakeTimers } from '../core/policies/fake-timers';
import { killHard } from '../support/child-process';
import { freezableProxy } from '../support/freezable-proxy';
import { startRedisServer } from '../support/redis-fixture';

const silent = { warn: () => undefined, error: () => undefined, log: () => undefined };

jest.setTimeout(30_000);

describe('RedisStore: scripts by SHA1', () => {
  const port = 23_420 + Math.floor(Math.random() * 1_000);
  let server: ChildProcess;
  let admin: Redis;
  let prefix: string;
  let n = 0;
  const cleanups: Array<() => Promise<unknown> | unknown> = [];

  beforeAll(async () => {
    server = await startRedisServer(port);
    admin = new Redis(port, '127.0.0.1');
  });

  afterAll(async () => {
    admin.disconnect();
    await killHard(server);
  });

  beforeEach(async () => {
    prefix = `evalsha-${n++}:`;
    await admin.script('FLUSH');
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** An app's ioredis client on `redisPort` that records every command the store sends. */
  function recordingClient(redisPort = port) {
    const io = new Redis(redisPort, '127.0.0.1');
    io.on('error', () => undefined);
    cleanups.push(() => io.disconnect());
    const sent: string[][] = [];
    const client = new Proxy(io, {
      get(target, property) {
        if (property === 'call')
          return (...args: string[]) => {
            sent.push(args);
            return target.call(...(args as [string]));
          };
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    return { client, sent };
  }

  /** An app's ioredis client on the test's Redis. */
  function ownClient(): Redis {
    const io = new Redis(port, '127.0.0.1');
    cleanups.push(() => io.disconnect());
    return io;
  }

  async function instance(client: Redis, extra: { heartbeat?: number; commandTimeout?: number } = {}) {
    const store = new RedisStore(
      { type: 'redis', client, keyPrefix: prefix, heartbeat: 60_000, commandTimeout: 250, ...extra },
      silent,
    );
    cleanups.push(() => store.close());
    const registry = new BreakerRegistry({
      breakers: { payments: { failureThreshold: 1, resetCooldown: 0 } },
      auditLog: store.auditLog,
    });
    await store.attach(registry);
    const search = new Policies(
      'search',
      { rateLimit: { limit: 3, interval: 3_600_000, scope: 'fleet' } },
      { timers: fakeTimers(), sharedRateLimits: store.rateLimits },
      { fleetStore: true },
    );
    const call = () => search.execute(async () => 'ok').catch((e: { code: string }) => e.code);
    return { store, registry, call };
  }

  const takes = (sent: string[][]) =>
    sent.filter((args) => args.some((a) => a.startsWith(`${prefix}ratelimit:`)));
  /** The operations with failed commands. */
  const failed = (store: RedisStore) =>
    Object.fromEntries(Object.entries(store.stats().errors).filter(([, count]) => count > 0));
  const named = (sent: string[][], command: string) => sent.filter((args) => args[0] === command);

  it("should send a fleet rate limit's script body once (loaded on connect), then only its SHA1 with each take", async () => {
    const { client, sent } = recordingClient();
    const a = await instance(client);

    const outcomes = [];
    for (let i = 0; i < 20; i++) outcomes.push(await a.call());

    expect(outcomes.slice(0, 4)).toEqual(['ok', 'ok', 'ok', 'RATE_LIMITED']);
    expect(sent.filter((args) => args[0] === 'SCRIPT' && args[2] === RATE_LIMIT_SCRIPT.body)).toHaveLength(1);
    expect(named(takes(sent), 'EVAL')).toEqual([]);
    expect(named(takes(sent), 'EVALSHA').length).toBeGreaterThanOrEqual(19);
    expect(failed(a.store)).toEqual({});
  });

  it("should still take from the fleet's bucket once Redis lost the script (SCRIPT FLUSH), counting no error", async () => {
    const { client, sent } = recordingClient();
    const a = await instance(client);
    const b = await instance(ownClient());

    expect(await a.call()).toBe('ok');
    await admin.script('FLUSH');
    expect(await a.call()).toBe('ok');
    expect(await b.call()).toBe('ok');

    // The fleet's bucket held 3: every take above came from it.
    expect(await b.call()).toBe('RATE_LIMITED');
    // Its body, once: after the flush (it was loaded on connect).
    expect(named(takes(sent), 'EVAL')).toHaveLength(1);
    expect(failed(a.store)).toEqual({});
    expect(a.store.status().status).toBe('up');
  });

  it("should send no script's body once Redis holds it: transitions, manual actions, audit entries, heartbeats, reads", async () => {
    const { client, sent } = recordingClient();
    const a = await instance(client, { heartbeat: 20 });
    const breaker = a.registry.get('payments');
    const round = async () => {
      await breaker.execute(() => Promise.reject(new Error('down'))).catch(() => undefined);
      await breaker.trip('maintenance', 'alice');
      await breaker.trip('again', 'alice'); // no change: an audit entry of its instance
      await breaker.reset({ reason: 'done', actor: 'alice' });
      await a.call();
      await a.store.fleet();
      await delay(50); // heartbeats
    };
    // Loaded on connect: not one body, from the first round on.
    await round();
    await round();
    await round();

    expect(named(sent, 'EVALSHA').length).toBeGreaterThan(10);
    expect(named(sent, 'EVAL')).toEqual([]);
    expect(failed(a.store)).toEqual({});
  });

  it('should not send the body late for a take whose SHA1 met NOSCRIPT after commandTimeout (its deadline stands)', async () => {
    const proxy = await freezableProxy(port);
    cleanups.push(() => proxy.close());
    const { client, sent } = recordingClient(proxy.port);
    const a = await instance(client as unknown as Redis, { commandTimeout: 100 });
    const b = await instance(ownClient());
    // Loaded on connect: Redis loses them, so that the take meets NOSCRIPT.
    await admin.script('FLUSH');

    proxy.freeze();
    expect(await a.call()).toBe('ok'); // no answer in time: the instance's bucket decided
    const sentBefore = sent.length;
    proxy.thaw();
    await delay(200);

    expect(takes(sent.slice(sentBefore))).toEqual([]);
    // The fleet's bucket is whole: 3 takes for b.
    expect([await b.call(), await b.call(), await b.call(), await b.call()]).toEqual([
      'ok',
      'ok',
      'ok',
      'RATE_LIMITED',
    ]);
  });
});
