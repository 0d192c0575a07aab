/**
 * What a Redis command that timed out may still do: nothing. A link that stalls delivers the
 * commands sent meanwhile once it heals, and an app's own client (its offline queue on, as
 * node-redis' and ioredis' defaults are) sends the ones it got while disconnected once it
 * reconnects. The store took them as not applied, so they must not apply then: each script that
 * changes the fleet state carries a deadline on Redis' clock, and no command is sent on a client
 * that is not ready.
 */
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import Redis from 'ioredis';
import { createClient } from 'redis';
import type { BreakerOptions } from '../../src/core/breaker-options';
import { BreakerRegistry } from '../../src/core/registry';
import type { RedisClient } from '../../src/stores/redis/redis-client';
import { CONTROL_SCRIPT, READ_ALL_SCRIPT } from '../../src/stores/redis/redis-scripts';
import { RedisStore, type RedisStoreOptions } from '../../src/stores/redis/redis.store';
import { killHard, readLines, spawnTs } from '../support/child-process';
import { freezableProxy } from '../support/freezable-proxy';
import { REDIS_LIBRARIES, startRedisServer, type RedisLibrary } from '../support/redis-fixture';
import { eventually } from '../support/eventually';

const CHILD = join(__dirname, '..', 'support', 'fleet-instance-child.ts');
const silent = { warn: () => undefined, error: () => undefined, log: () => undefined };
const fail = () => Promise.reject(new Error('dependency down'));
const ok = () => Promise.resolve('ok');

jest.setTimeout(30_000);

describe('RedisStore: a command that timed out changes nothing later', () => {
  const port = 20_420 + Math.floor(Math.random() * 1_000);
  const prefix = 'deadlines:';
  let server: ChildProcess | undefined;
  let admin: Redis;
  const cleanups: Array<() => Promise<unknown> | unknown> = [];

  beforeEach(async () => {
    server = await startRedisServer(port);
    admin = new Redis(port, '127.0.0.1');
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    admin.disconnect();
    if (server !== undefined) await killHard(server);
  });

  const fleetState = async (name = 'payments') =>
    (await admin.hget(`${prefix}state:${name}`, 'state')) ?? 'closed';

  /** An instance in this process, on its own connection. */
  async function instance(
    breakers: Record<string, BreakerOptions>,
    connection: { url: string } | { client: RedisClient },
    extra: Partial<RedisStoreOptions> = {},
  ) {
    const store = new RedisStore(
      { type: 'redis', ...connection, keyPrefix: prefix, heartbeat: 60_000, ...extra },
      silent,
    );
    cleanups.push(() => store.close());
    const registry = new BreakerRegistry({ breakers, auditLog: store.auditLog });
    await store.attach(registry);
    return { store, registry, breaker: registry.get('payments') };
  }

  it("should not let an operator's trip made over a stalled link reach the fleet when it heals, after newer actions", async () => {
    const proxy = await freezableProxy(port);
    cleanups.push(() => proxy.close());
    const children: ChildProcess[] = [];
    cleanups.push(() => Promise.all(children.map(killHard)));
    // Clocks a minute off either way: deadlines are dated on Redis' clock, not on the instance's.
    const start = async (id: string, redisPort: number, clockSkewMs: number) => {
      const child = spawnTs(CHILD, [
        JSON.stringify({
          redisUrl: `redis://127.0.0.1:${redisPort}`,
          keyPrefix: prefix,
          instanceId: id,
          breakers: { payments: {} },
          commandTimeout: 100,
          heartbeat: 60_000,
          clockSkewMs,
        }),
      ]);
      children.push(child);
      const [line] = await readLines(child, 1);
      const base = `http://127.0.0.1:${(JSON.parse(line) as { port: number }).port}/resilience/breakers/payments`;
      return {
        post: (action: string, body: object) =>
          fetch(`${base}/${action}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(body),
          }).then((r) => r.json() as Promise<{ state: string }>),
        state: async () => ((await (await fetch(base)).json()) as { state: string }).state,
      };
    };
    const [a, b] = await Promise.all([start('a', proxy.port, 60_000), start('b', port, -60_000)]);

    proxy.freeze();
    expect(await a.post('trip', { reason: 'stale' })).toMatchObject({ state: 'forced_open' });
    expect(await b.state()).toBe('closed');
    await b.post('trip', { reason: 'incident' });
    await b.post('reset', { reason: 'fixed', force: true });
    expect(await fleetState()).toBe('closed');
    proxy.thaw();
    await delay(300);

    // Bob's reset, the newest action, stands on every instance (a hears it once its link heals):
    // alice's trip timed out, so it applied to her instance only and is not sent later.
    expect(await fleetState()).toBe('closed');
    expect(await b.state()).toBe('closed');
    expect(await a.state()).toBe('closed');
  });

  it("should write the entry of an operator's trip that timed out over a stalled link, which the fleet never applied, once: its instance's", async () => {
    const proxy = await freezableProxy(port);
    cleanups.push(() => proxy.close());
    const a = await instance(
      { payments: {} },
      { url: `redis://127.0.0.1:${proxy.port}` },
      { commandTimeout: 100, heartbeat: 50 },
    );

    proxy.freeze();
    await a.breaker.trip('stale', 'alice');
    expect(a.breaker.state).toBe('forced_open');
    proxy.thaw();
    await delay(300);

    // The script reached Redis late and wrote nothing; the instance wrote the entry once back.
    expect(await fleetState()).toBe('closed');
    expect(await admin.xlen(`${prefix}audit`)).toBe(1);
  });

  it('should write the entry of a manual action that changed no state, made over a stalled link, once', async () => {
    const proxy = await freezableProxy(port);
    cleanups.push(() => proxy.close());
    const a = await instance(
      { payments: {} },
      { url: `redis://127.0.0.1:${proxy.port}` },
      { commandTimeout: 100, heartbeat: 50 },
    );

    proxy.freeze();
    // CLOSED already: an action for the audit log only.
    await a.breaker.reset({ reason: 'just in case', actor: 'alice' });
    proxy.thaw();
    await delay(300);

    // Not by the script sent over the stalled link (late, it wrote nothing), but once it was back.
    expect(await admin.xlen(`${prefix}audit`)).toBe(1);
  });

  it('should not apply an action late after an answer that came slowly, whichever way its link was slow', async () => {
    const proxy = await freezableProxy(port);
    cleanups.push(() => proxy.close());
    const breakers = { payments: { resetCooldown: 0 } };
    const a = await instance(breakers, { url: `redis://127.0.0.1:${proxy.port}` }, { commandTimeout: 300 });
    const b = await instance(breakers, { url: `redis://127.0.0.1:${port}` });
    // Redis holds the script already, as a fleet's does: the stall alone makes the answer slow.
    await admin.script('LOAD', CONTROL_SCRIPT.body);

    // Answered within commandTimeout, but only once Redis got it, 250 ms after it was sent.
    proxy.freeze();
    const tripping = a.breaker.trip('maintenance', 'alice');
    await delay(250);
    proxy.thaw();
    await tripping;
    expect(await fleetState()).toBe('forced_open');

    proxy.freeze();
    await a.breaker.reset({ reason: 'stale', actor: 'alice' });
    await b.breaker.disable('incident', 'bob');
    await delay(60);
    proxy.thaw();
    await delay(200);

    expect(await fleetState()).toBe('disabled');
    expect((await b.registry.audit('payments')).map((e) => e.action)).toEqual(['disable', 'trip']);
  });

  it('should not count an opening that reaches Redis after its open period ended', async () => {
    const proxy = await freezableProxy(port);
    cleanups.push(() => proxy.close());
    // The stall (150 ms) is within commandTimeout (300 ms) but longer than openDuration (100 ms).
    const breakers = { payments: { failureThreshold: 1, openDuration: 100 } };
    const a = await instance(breakers, { url: `redis://127.0.0.1:${proxy.port}` }, { commandTimeout: 300 });
    const b = await instance(breakers, { url: `redis://127.0.0.1:${port}` });

    proxy.freeze();
    await a.breaker.execute(fail).catch(() => {});
    expect(a.breaker.state).toBe('open');
    await delay(150);
    proxy.thaw();
    await delay(100);

    expect(await admin.xlen(`${prefix}audit`)).toBe(0);
    expect(await fleetState()).toBe('closed');
    expect(b.breaker.state).toBe('closed');
  });

  it('should not report an opening whose link stalled longer than openDuration, nor later on reconnect', async () => {
    const proxy = await freezableProxy(port);
    cleanups.push(() => proxy.close());
    const breakers = { payments: { failureThreshold: 1, openDuration: 500 } };
    const a = await instance(
      breakers,
      { url: `redis://127.0.0.1:${proxy.port}` },
      { commandTimeout: 100, heartbeat: 50 },
    );
    const b = await instance(breakers, { url: `redis://127.0.0.1:${port}` });

    proxy.freeze();
    await a.breaker.execute(fail).catch(() => {});
    await delay(700);
    proxy.thaw();
    await eventually(() => a.store.status().status === 'up');
    await delay(100);

    expect(await admin.xlen(`${prefix}audit`)).toBe(0);
    expect(await fleetState()).toBe('closed');
    expect(b.breaker.state).toBe('closed');
  });

  it('should not report later an opening an operator reset while both were on their way over a stalled link', async () => {
    const proxy = await freezableProxy(port);
    cleanups.push(() => proxy.close());
    const breakers = { payments: { failureThreshold: 1, openDuration: 60_000 } };
    const a = await instance(
      breakers,
      { url: `redis://127.0.0.1:${proxy.port}` },
      { commandTimeout: 100, heartbeat: 50 },
    );

    proxy.freeze();
    await a.breaker.execute(fail).catch(() => {});
    await a.breaker.reset({ force: true, reason: 'false alarm' });
    await delay(200);
    proxy.thaw();
    await eventually(() => a.store.status().status === 'up');
    await delay(200);

    expect(await fleetState()).toBe('closed');
    expect(a.breaker.state).toBe('closed');
  });

  it('should leave no lease on Redis for a trial claim that timed out (its instance ran the trial alone)', async () => {
    const proxy = await freezableProxy(port);
    cleanups.push(() => proxy.close());
    const breakers = {
      payments: { failureThreshold: 1, openDuration: 200, halfOpenMaxWait: 300 },
    };
    const a = await instance(breakers, { url: `redis://127.0.0.1:${proxy.port}` }, { commandTimeout: 100 });
    const b = await instance(breakers, { url: `redis://127.0.0.1:${port}` });
    await b.breaker.execute(fail).catch(() => {});
    await eventually(() => a.breaker.state === 'open');
    await delay(250);

    proxy.freeze();
    await expect(a.breaker.execute(ok)).resolves.toBe('ok');
    expect(a.breaker.state).toBe('closed');
    await delay(20);
    proxy.thaw();
    await delay(100);

    expect(await admin.zcard(`${prefix}trials:payments`)).toBe(0);
    await delay(300);
    const reasons = (await b.registry.audit('payments')).map((e) => e.reason);
    expect(reasons).not.toContain('half_open_max_wait');
  });

  it('should send at most one heartbeat over a stalled link, however long it stalls', async () => {
    const proxy = await freezableProxy(port);
    cleanups.push(() => proxy.close());
    const io = new Redis(proxy.port, '127.0.0.1');
    cleanups.push(() => io.disconnect());
    let heartbeats = 0;
    const client = new Proxy(io, {
      get(target, property) {
        if (property === 'call')
          return (...args: string[]) => {
            if (args.some((arg) => arg.includes(`${prefix}instance:`))) heartbeats++;
            return target.call(...(args as [string]));
          };
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    await instance({ payments: {} }, { client }, { commandTimeout: 50, heartbeat: 20 });
    await delay(100);

    proxy.freeze();
    const before = heartbeats;
    await delay(500);
    expect(heartbeats - before).toBeLessThanOrEqual(1);
    proxy.thaw();
  });

  it('should send one fleet read at a time over a link that stalled before Redis ever answered', async () => {
    const proxy = await freezableProxy(port);
    cleanups.push(() => proxy.close());
    const io = new Redis(proxy.port, '127.0.0.1');
    cleanups.push(() => io.disconnect());
    await new Promise((resolve) => io.once('ready', resolve));
    let reads = 0;
    const client = new Proxy(io, {
      get(target, property) {
        if (property === 'call')
          return (...args: string[]) => {
            // The fleet state's read, by its SHA1 (Redis does not hold it yet) or its body.
            if (args[1] === READ_ALL_SCRIPT.sha || args[1] === READ_ALL_SCRIPT.body) reads++;
            return target.call(...(args as [string]));
          };
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });

    proxy.freeze();
    await instance({ payments: {} }, { client }, { commandTimeout: 50, heartbeat: 20 });
    await delay(500);

    expect(reads).toBe(1);
    proxy.thaw();
  });

  describe.each(REDIS_LIBRARIES)("with the app's own %s client, default options", (library: RedisLibrary) => {
    /** A client as an app builds it (offline queue on), counting the commands sent while not ready. */
    async function ownClient(): Promise<{ client: RedisClient; sentWhileDown: () => number }> {
      let sentWhileDown = 0;
      if (library === 'ioredis') {
        const io = new Redis(port, '127.0.0.1');
        io.on('error', () => {});
        cleanups.push(() => io.disconnect());
        await new Promise((resolve) => io.once('ready', resolve));
        const client = new Proxy(io, {
          get(target, property) {
            if (property === 'call')
              return (...args: string[]) => {
                if (target.status !== 'ready') sentWhileDown++;
                return target.call(...(args as [string]));
              };
            const value: unknown = Reflect.get(target, property, target);
            return typeof value === 'function' ? value.bind(target) : value;
          },
        });
        return { client, sentWhileDown: () => sentWhileDown };
      }
      const node = createClient({ url: `redis://127.0.0.1:${port}` });
      node.on('error', () => {});
      await node.connect();
      cleanups.push(() => node.destroy());
      const client = new Proxy(node, {
        get(target, property) {
          if (property === 'sendCommand')
            return (args: string[]) => {
              if (!target.isReady) sentWhileDown++;
              return target.sendCommand(args);
            };
          const value: unknown = Reflect.get(target, property, target);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      }) as RedisClient;
      return { client, sentWhileDown: () => sentWhileDown };
    }

    it('should send nothing while Redis is down, so a trip made then never reaches the fleet', async () => {
      const own = await ownClient();
      const a = await instance(
        { payments: {} },
        { client: own.client },
        { commandTimeout: 100, heartbeat: 50 },
      );
      await killHard(server!);
      server = undefined;
      await delay(100);

      const started = Date.now();
      await a.breaker.trip('while down', 'alice');
      expect(Date.now() - started).toBeLessThan(150);
      expect(a.breaker.state).toBe('forced_open');
      await delay(200);
      expect(own.sentWhileDown()).toBe(0);

      server = await startRedisServer(port);
      await eventually(() => a.store.status().status === 'up', 5_000);
      await delay(200);
      expect(await fleetState()).toBe('closed');
    });
  });
});
