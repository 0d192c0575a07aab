import type { ChildProcess } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import Redis from 'ioredis';
import type { Breaker } from '../../src/core/breaker';
import type { BreakerOptions } from '../../src/core/breaker-options';
import { InvalidBreakerOptionsError } from '../../src/core/errors';
import { BreakerRegistry } from '../../src/core/registry';
import { createBreakerStore } from '../../src/stores/create-store';
import { AUDIT_STREAM_MAX } from '../../src/stores/redis/redis-audit-log';
import type { RedisClient } from '../../src/stores/redis/redis-client';
import type { LuaScript } from '../../src/stores/redis/lua-script';
import { CONTROL_SCRIPT, READ_ALL_SCRIPT } from '../../src/stores/redis/redis-scripts';
import { RedisStore, type RedisStoreOptions } from '../../src/stores/redis/redis.store';
import { killHard } from '../support/child-process';
import {
  closeRedisClients,
  connectClient,
  deleteKeys,
  PROPAGATION_MS,
  REDIS_LIBRARIES,
  REDIS_URL,
  startRedisServer,
  testPrefix,
  type RedisLibrary,
} from '../support/redis-fixture';
import { eventually as pollUntil } from '../support/eventually';

const logger = { warn: jest.fn(), error: jest.fn(), log: jest.fn() };
const fail = () => Promise.reject(new Error('dependency down'));
const ok = () => Promise.resolve('ok');

/** Polls `check` until it holds (propagation is asynchronous), failing after `ms`. */
const eventually = (check: () => boolean, ms = 1_000) => pollUntil(check, ms, 2);

/** Whether a command the store sends runs `script` (by its SHA1, or its body when Redis lacked it). */
const runs = (args: string[], script: LuaScript) => args[1] === script.sha || args[1] === script.body;

/** Whether a command the store sends reads the whole fleet state. */
const readsFleetState = (args: string[]) => runs(args, READ_ALL_SCRIPT);

/**
 * `io` with each command the store sends through it handed to `call`, with the function that
 * sends it: a test holds back a command or its reply.
 */
function intercepted(
  io: Redis,
  call: (args: string[], send: () => Promise<unknown>) => Promise<unknown>,
): Redis {
  return new Proxy(io, {
    get(target, property) {
      if (property === 'call')
        return (...args: string[]) => call(args, () => target.call(...(args as [string])));
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe.each(REDIS_LIBRARIES)('RedisStore with a %s client', (library: RedisLibrary) => {
  let prefix: string;
  const stores: RedisStore[] = [];

  beforeEach(() => {
    prefix = testPrefix();
  });

  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    await closeRedisClients();
    await deleteKeys(prefix);
  });

  /** One instance of the fleet: a registry on its own store and connection. */
  async function instance(
    breakers: Record<string, BreakerOptions>,
    extra: Partial<RedisStoreOptions> = {},
    client?: RedisClient,
  ) {
    const store = new RedisStore(
      { type: 'redis', client: client ?? (await connectClient(library)), keyPrefix: prefix, ...extra },
      logger,
    );
    stores.push(store);
    const registry = new BreakerRegistry({ breakers, auditLog: store.auditLog });
    await store.attach(registry);
    return { registry, store, breaker: (name: string, key?: string) => registry.get(name, key) };
  }

  async function fleet(n: number, breakers: Record<string, BreakerOptions>) {
    const out = [];
    for (let i = 0; i < n; i++) out.push(await instance(breakers, { instanceId: `instance-${i}` }));
    return out;
  }

  /**
   * Two instances of a fleet whose `payments` breaker a failure on the first opened, once its
   * open period has run out: the next call is a trial.
   */
  async function halfOpenPair(payments: BreakerOptions & { openDuration: number }) {
    const pair = await fleet(2, { payments: { failureThreshold: 1, ...payments } });
    await pair[0]
      .breaker('payments')
      .execute(fail)
      .catch(() => {});
    await eventually(() => pair[1].breaker('payments').state !== 'closed');
    await delay(payments.openDuration + 50);
    return pair;
  }

  /** Starts a trial on `on` that never ends: only its lease's expiry can end it for the fleet. */
  function hangTrial(on: { breaker: (name: string) => Breaker }): void {
    void on
      .breaker('payments')
      .execute(() => new Promise(() => {}))
      .catch(() => {});
  }

  it('should open the breaker on every instance when one sees it fail', async () => {
    const [a, b, c] = await fleet(3, { payments: { failureThreshold: 2, openDuration: 60_000 } });
    await a
      .breaker('payments')
      .execute(fail)
      .catch(() => {});
    await a
      .breaker('payments')
      .execute(fail)
      .catch(() => {});

    await eventually(
      () => b.breaker('payments').state === 'open' && c.breaker('payments').state === 'open',
      PROPAGATION_MS,
    );
    expect(b.breaker('payments').snapshot()).toMatchObject({ failures: 0, tripCount: 1 });
    await expect(c.breaker('payments').execute(ok)).rejects.toMatchObject({
      code: 'BREAKER_OPEN',
      state: 'open',
    });
    expect(c.breaker('payments').snapshot().nextAttemptAt).toBeGreaterThan(Date.now() + 59_000);
  });

  it('should open the fleet only once fleetQuorum instances opened it', async () => {
    const [a, b, c] = await fleet(3, {
      payments: { failureThreshold: 1, openDuration: 60_000, fleetQuorum: 2 },
    });
    await a
      .breaker('payments')
      .execute(fail)
      .catch(() => {});
    await delay(100);
    expect([a, b, c].map((i) => i.breaker('payments').state)).toEqual(['open', 'closed', 'closed']);

    await b
      .breaker('payments')
      .execute(fail)
      .catch(() => {});
    await eventually(() => c.breaker('payments').state === 'open', PROPAGATION_MS);
    const audit = await c.registry.audit('payments');
    expect(audit).toEqual([
      expect.objectContaining({
        action: 'transition',
        to: 'open',
        reason: 'failure_threshold',
        instance: 'instance-1',
      }),
    ]);
  });

  it('should start a new window on every instance when a reset closes the fleet, also on one CLOSED already', async () => {
    const [a, b] = await fleet(2, {
      payments: { failureThreshold: 2, openDuration: 60_000, fleetQuorum: 2, resetCooldown: 0 },
    });
    for (const i of [a, a, b])
      await i
        .breaker('payments')
        .execute(fail)
        .catch(() => {});
    // Below the quorum, a opened alone; b counts one failure of two.
    expect([a, b].map((i) => i.breaker('payments').state)).toEqual(['open', 'closed']);

    await a.breaker('payments').reset({ reason: 'fixed', actor: 'alice' });
    await eventually(() => b.breaker('payments').snapshot().failures === 0, PROPAGATION_MS);
    await b
      .breaker('payments')
      .execute(fail)
      .catch(() => {});
    expect(b.breaker('payments').snapshot()).toMatchObject({ state: 'closed', failures: 1 });
  });

  it('should make one transition and one audit entry when instances open at the same moment', async () => {
    const instances = await fleet(3, { payments: { failureThreshold: 1, openDuration: 60_000 } });
    await Promise.all(
      instances.map((i) =>
        i
          .breaker('payments')
          .execute(fail)
          .catch(() => {}),
      ),
    );
    await eventually(() => instances.every((i) => i.breaker('payments').state === 'open'));
    await delay(50);

    const transitions = (await instances[0].registry.audit('payments')).filter(
      (e) => e.action === 'transition',
    );
    expect(transitions).toHaveLength(1);
    const openedAt = instances.map((i) => i.breaker('payments').snapshot().nextAttemptAt as number);
    // One open period: each instance dates it on its own clock when the fleet's answer reaches it.
    expect(Math.max(...openedAt) - Math.min(...openedAt)).toBeLessThan(PROPAGATION_MS);
  });

  it('should apply a trip on one instance and a forced reset on another to all, auditing each with its instance', async () => {
    const [a, b, c] = await fleet(3, { payments: {} });
    await a.breaker('payments').trip('maintenance', 'alice');
    await eventually(
      () => [b, c].every((i) => i.breaker('payments').state === 'forced_open'),
      PROPAGATION_MS,
    );
    await expect(b.breaker('payments').execute(ok)).rejects.toMatchObject({ state: 'forced_open' });

    await b.breaker('payments').reset({ force: true, actor: 'bob', reason: 'done' });
    await eventually(() => [a, c].every((i) => i.breaker('payments').state === 'closed'), PROPAGATION_MS);
    await expect(a.breaker('payments').execute(ok)).resolves.toBe('ok');
    expect(await c.registry.audit('payments')).toEqual([
      expect.objectContaining({ action: 'reset', actor: 'bob', to: 'closed', instance: 'instance-1' }),
      expect.objectContaining({ action: 'trip', actor: 'alice', to: 'forced_open', instance: 'instance-0' }),
    ]);
  });

  it('should let exactly halfOpenMaxCalls trials run in the whole fleet', async () => {
    const instances = await fleet(3, {
      payments: { failureThreshold: 1, openDuration: 100, halfOpenMaxCalls: 2, halfOpenMaxWait: 5_000 },
    });
    await instances[0]
      .breaker('payments')
      .execute(fail)
      .catch(() => {});
    await eventually(() => instances.every((i) => i.breaker('payments').state !== 'closed'));
    await delay(150);

    let started = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const trial = () => {
      started++;
      return gate.then(() => 'ok');
    };
    const calls = instances.flatMap((i) =>
      Array.from({ length: 20 }, () =>
        i
          .breaker('payments')
          .execute(trial)
          .catch((e: { state?: string }) => e.state),
      ),
    );
    await delay(100);
    expect(started).toBe(2);
    release();
    const results = await Promise.all(calls);
    expect(results.filter((r) => r === 'ok')).toHaveLength(2);
    expect(results.filter((r) => r === 'half_open')).toHaveLength(58);
    await eventually(() => instances.every((i) => i.breaker('payments').state === 'closed'), PROPAGATION_MS);
  });

  it('should tell a caller turned away by a trial on another instance when that trial is due to end', async () => {
    const [a, b] = await halfOpenPair({ openDuration: 100, halfOpenMaxWait: 5_000 });
    let release!: () => void;
    const trial = a
      .breaker('payments')
      .execute(() => new Promise<string>((resolve) => (release = () => resolve('ok'))));
    await eventually(() => release !== undefined);

    const rejected = await b
      .breaker('payments')
      .execute(ok)
      .catch((error: unknown) => error);
    expect(rejected).toMatchObject({ code: 'BREAKER_OPEN', state: 'half_open' });
    expect((rejected as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(4_000);
    release();
    await trial;
  });

  it('should reopen the fleet when a trial outlives halfOpenMaxWait, though the other trials succeed', async () => {
    const [a, b] = await halfOpenPair({ openDuration: 1_000, halfOpenMaxCalls: 2, halfOpenMaxWait: 600 });
    hangTrial(a);
    await delay(20);
    await expect(b.breaker('payments').execute(ok)).resolves.toBe('ok');
    await delay(200);
    // The second success comes after the hung trial's lease expired (but within its own): that trial failed first.
    await expect(b.breaker('payments').execute(() => delay(500).then(ok))).resolves.toBe('ok');
    await delay(50);

    expect(b.breaker('payments').state).toBe('open');
    expect((await b.registry.audit('payments'))[0]).toMatchObject({
      to: 'open',
      reason: 'half_open_max_wait',
    });
  });

  it('should date the reopening by an expired lease from when it expired, not from the next claim', async () => {
    const [a, b] = await halfOpenPair({ openDuration: 400, halfOpenMaxWait: 200 });
    hangTrial(a);
    await delay(450);

    // The lease expired 250 ms ago: the fleet reopened then, for 400 ms.
    const rejected = await b
      .breaker('payments')
      .execute(ok)
      .catch((error: { retryAfterMs: number }) => error);
    expect(rejected).toMatchObject({ code: 'BREAKER_OPEN', state: 'open' });
    expect((rejected as { retryAfterMs: number }).retryAfterMs).toBeLessThan(300);
    expect((await b.registry.audit('payments'))[0]).toMatchObject({
      to: 'open',
      reason: 'half_open_max_wait',
    });
  });

  it('should count a lease that expired unclaimed for long as a failed trial', async () => {
    const [a, b] = await halfOpenPair({ openDuration: 100, halfOpenMaxWait: 100 });
    hangTrial(a);
    await delay(400);

    await b
      .breaker('payments')
      .execute(ok)
      .catch(() => {});
    const reasons = (await b.registry.audit('payments')).map((entry) => entry.reason);
    expect(reasons).toContain('half_open_max_wait');
  });

  it('should have a per-key breaker OPEN on an instance that had no call for it once the fleet opened it', async () => {
    const [a, b] = await fleet(2, { hosts: { failureThreshold: 1, openDuration: 60_000 } });
    await a
      .breaker('hosts', 'api.example.com')
      .execute(fail)
      .catch(() => {});
    await delay(100);
    expect(b.registry.has('hosts', 'api.example.com')).toBe(true);
    expect(b.breaker('hosts', 'api.example.com').state).toBe('open');
    expect(b.breaker('hosts', 'other.example.com').state).toBe('closed');
  });

  it('should keep a breaker with shared: false to its instance', async () => {
    const [a, b] = await fleet(2, { local: { failureThreshold: 1, shared: false } });
    await a
      .breaker('local')
      .execute(fail)
      .catch(() => {});
    await delay(100);
    expect([a.breaker('local').state, b.breaker('local').state]).toEqual(['open', 'closed']);
    expect(await a.registry.audit('local')).toEqual([
      expect.objectContaining({ to: 'open', instance: 'instance-0' }),
    ]);
  });

  it('should keep an operator’s trip in the audit log however many per-key transitions come after it', async () => {
    const [a] = await fleet(1, { payments: {}, hosts: { failureThreshold: 1 } });
    await a.breaker('payments').trip('maintenance');
    await a
      .breaker('hosts', 'down.example')
      .execute(fail)
      .catch(() => {});
    // As many per-key transitions as the stream keeps, straight into it: a flood of failing keys.
    const admin = new Redis(REDIS_URL);
    const flood = admin.pipeline();
    for (let i = 0; i < AUDIT_STREAM_MAX; i++) {
      flood.xadd(
        `${prefix}audit:keyed`,
        'MAXLEN',
        String(AUDIT_STREAM_MAX),
        '*',
        'breaker',
        `hosts#k${i}`,
        'action',
        'transition',
        'from',
        'closed',
        'to',
        'open',
        'reason',
        'failure_threshold',
        'actor',
        '',
        'at',
        '0',
        'instance',
        'x',
      );
    }
    await flood.exec();
    admin.disconnect();

    expect(await a.registry.audit('payments')).toEqual([
      expect.objectContaining({ action: 'trip', to: 'forced_open', reason: 'maintenance' }),
    ]);
    const all = await a.registry.audit(undefined, { limit: 5 });
    expect(all).toHaveLength(5);
    expect(all.every((entry) => entry.breaker.startsWith('hosts#k'))).toBe(true);
    expect(await a.registry.audit('hosts#down.example')).toEqual([]);
  });

  it('should send no Redis command on the call path of a CLOSED or OPEN breaker', async () => {
    const real = await connectClient(library);
    let commands = 0;
    const counting = new Proxy(real, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if ((property === 'sendCommand' || property === 'call') && typeof value === 'function') {
          return (...args: unknown[]) => {
            commands++;
            return value.apply(target, args);
          };
        }
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }) as RedisClient;
    const a = await instance(
      { payments: { failureThreshold: 1000, openDuration: 60_000 } },
      { heartbeat: 60_000 },
      counting,
    );
    await delay(50);
    const before = commands;
    for (let i = 0; i < 500; i++) await a.breaker('payments').execute(ok);
    for (let i = 0; i < 100; i++)
      await a
        .breaker('payments')
        .execute(fail)
        .catch(() => {});
    expect(commands).toBe(before);
    await a.breaker('payments').trip();
    const afterTrip = commands;
    for (let i = 0; i < 100; i++)
      await a
        .breaker('payments')
        .execute(ok)
        .catch(() => {});
    expect(commands).toBe(afterTrip);
  });

  it('should show every live instance in the fleet view', async () => {
    const [a] = await fleet(3, { payments: {} });
    const view = await a.store.fleet();
    expect(view.instances.map((i) => i.instance)).toEqual(['instance-0', 'instance-1', 'instance-2']);
    expect(view.instances[0].breakers).toEqual([
      expect.objectContaining({ name: 'payments', state: 'closed' }),
    ]);
    expect(a.store.stats()).toMatchObject({ up: true, instances: 3 });
  });
});

describe('RedisStore options', () => {
  afterEach(closeRedisClients);

  it.each([
    [{ type: 'redis' }, 'store.url'],
    [{ type: 'redis', url: REDIS_URL, client: {} }, 'store.client'],
    [{ type: 'redis', url: 'http://localhost:6379' }, 'store.url'],
    [{ type: 'redis', url: REDIS_URL, commandTimeout: 0 }, 'store.commandTimeout'],
    [{ type: 'redis', url: REDIS_URL, heartbeat: 'often' }, 'store.heartbeat'],
    [{ type: 'redis', url: REDIS_URL, keyPrefix: '' }, 'store.keyPrefix'],
    [{ type: 'redis', url: REDIS_URL, port: 6379 }, 'store.port'],
  ])('should refuse %j naming %s', (options, key) => {
    const build = () => createBreakerStore(options as never, logger);
    expect(build).toThrow(InvalidBreakerOptionsError);
    expect(build).toThrow(expect.objectContaining({ key, scope: 'store' }));
  });

  it('should boot within commandTimeout when Redis does not answer, down and deciding locally', async () => {
    const store = createBreakerStore(
      { type: 'redis', url: 'redis://127.0.0.1:1', commandTimeout: 100 },
      logger,
    );
    const registry = new BreakerRegistry({
      breakers: { payments: { failureThreshold: 1 } },
      auditLog: store.auditLog,
    });
    const started = Date.now();
    await store.attach(registry);
    expect(Date.now() - started).toBeLessThan(400);
    expect(store.status()).toEqual({ type: 'redis', status: 'down' });
    await registry
      .get('payments')
      .execute(fail)
      .catch(() => {});
    expect(registry.get('payments').state).toBe('open');
    await store.close();
  });
});

describe('RedisStore that cannot connect from its url', () => {
  it.each([
    [
      'nothing listens',
      'redis://127.0.0.1:1',
      /Redis does not answer \(.*; last connection error: .*ECONNREFUSED/,
    ],
    [
      'a password the server does not take',
      `${REDIS_URL.replace('redis://', 'redis://:wrong@')}`,
      /last connection error: .*AUTH/,
    ],
  ])('should say why in its warning: %s', async (_, url, reason) => {
    const warn = jest.fn();
    const store = createBreakerStore({ type: 'redis', url, commandTimeout: 100 }, { ...logger, warn });
    const registry = new BreakerRegistry({ breakers: { payments: {} }, auditLog: store.auditLog });

    await store.attach(registry);
    await store.close();

    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0][0]).toMatch(reason);
  });
});

describe('RedisStore on a redis-server of its own: restarted empty, subscriptions cut', () => {
  const port = 18_379 + Math.floor(Math.random() * 1_000);
  let server: ChildProcess | undefined;
  const stores: RedisStore[] = [];

  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    if (server !== undefined) await killHard(server);
  });

  /** Waits until `n` connections are subscribed again (a message published before is lost to them). */
  async function subscribed(n: number): Promise<void> {
    const admin = new Redis(port, '127.0.0.1');
    const count = async () =>
      String(await admin.client('LIST'))
        .split('\n')
        .filter((line) => / sub=1 /.test(line)).length;
    const started = Date.now();
    while ((await count()) < n) {
      if (Date.now() - started > 3_000) throw new Error(`${n} subscribers not back within 3 s`);
      await delay(10);
    }
    admin.disconnect();
  }

  /**
   * Waits until each store's commands reach the restarted server: `up` alone may still be the
   * verdict from before the restart while a connection is waiting to reconnect.
   */
  async function online(...instances: Array<{ store: RedisStore }>): Promise<void> {
    const started = Date.now();
    for (const { store } of instances) {
      while (
        !(await store.fleet().then(
          () => true,
          () => false,
        ))
      ) {
        if (Date.now() - started > 3_000) throw new Error('a store did not reach Redis again within 3 s');
        await delay(10);
      }
    }
  }

  /** Two instances of a fleet on this server, connected as `connections` say, with a `payments` breaker. */
  function pair(
    keyPrefix: string,
    connections: Array<{ url: string } | { client: RedisClient }>,
    payments: BreakerOptions = {},
  ) {
    return Promise.all(
      connections.map(async (connection, i) => {
        const store = new RedisStore(
          { type: 'redis', ...connection, instanceId: `${keyPrefix}${i}`, keyPrefix, heartbeat: 100 },
          logger,
        );
        stores.push(store);
        const registry = new BreakerRegistry({ breakers: { payments }, auditLog: store.auditLog });
        await store.attach(registry);
        return { store, breaker: registry.get('payments') };
      }),
    );
  }

  it('should still apply the fleet transitions made after the restart to every instance', async () => {
    server = await startRedisServer(port);
    const [a, b] = await pair('restart:', [
      { url: `redis://127.0.0.1:${port}` },
      { url: `redis://127.0.0.1:${port}` },
    ]);
    await a.breaker.disable();
    await eventually(() => b.breaker.state === 'disabled');
    await killHard(server!);
    server = await startRedisServer(port);
    await online(a, b);
    await subscribed(2);

    // Generations start over on the empty Redis: this trip is generation 1 again.
    await b.breaker.trip();

    await eventually(() => a.breaker.state === 'forced_open', PROPAGATION_MS);
  });

  it('should date a fleet opening reported after an outage from when the instance opened', async () => {
    server = await startRedisServer(port);
    const url = `redis://127.0.0.1:${port}`;
    const [a, b] = await pair('late:', [{ url }, { url }], { failureThreshold: 1, openDuration: 2_000 });
    await killHard(server!);
    const openedAt = Date.now();
    await a.breaker.execute(fail).catch(() => {});
    expect(a.breaker.state).toBe('open');
    await delay(800);

    server = await startRedisServer(port);
    await online(a, b);
    await eventually(() => b.breaker.state === 'open', 3_000);
    // Open until 2 s after a opened, as a's own breaker is: the outage does not lengthen it.
    expect(b.breaker.snapshot().nextAttemptAt).toBeLessThan(openedAt + 2_000 + PROPAGATION_MS);
  });

  it('should not report on reconnect an opening an operator reset while Redis was away', async () => {
    server = await startRedisServer(port);
    const url = `redis://127.0.0.1:${port}`;
    const [a, b] = await pair('undone:', [{ url }, { url }], { failureThreshold: 1, openDuration: 60_000 });
    await killHard(server!);
    await a.breaker.execute(fail).catch(() => {});
    await a.breaker.reset({ force: true, reason: 'false alarm' });

    server = await startRedisServer(port);
    await online(a, b);
    await delay(PROPAGATION_MS);
    expect([a.breaker.state, b.breaker.state]).toEqual(['closed', 'closed']);
  });

  it('should apply a transition heard before its instance read the fleet state again', async () => {
    server = await startRedisServer(port);
    // Instance a reads the fleet state only once let: it hears b's trip first.
    let reads = true;
    const io = new Redis(port, '127.0.0.1');
    const client = intercepted(io, (args, send) =>
      !reads && readsFleetState(args) ? new Promise(() => {}) : send(),
    );
    const [a, b] = await pair('race:', [{ client }, { url: `redis://127.0.0.1:${port}` }]);
    await a.breaker.disable();
    await eventually(() => b.breaker.state === 'disabled');
    reads = false;
    await killHard(server!);
    server = await startRedisServer(port);
    await online(b);
    await subscribed(2);

    await b.breaker.trip();
    await delay(100);
    reads = true;

    await eventually(() => a.breaker.state === 'forced_open', 1_000);
    io.disconnect();
  });

  it('should keep a transition heard while an older read of the fleet state was on its way', async () => {
    server = await startRedisServer(port);
    // Instance a's next read of the fleet state reaches it only once let: it is made before b's
    // reset (reading the trip) and arrives after a heard the reset.
    let holdRead = false;
    let release: (() => void) | undefined;
    const io = new Redis(port, '127.0.0.1');
    const client = intercepted(io, async (args, send) => {
      const reply = await send();
      if (holdRead && readsFleetState(args)) {
        holdRead = false;
        await new Promise<void>((resolve) => (release = resolve));
      }
      return reply;
    });
    const [a, b] = await pair('stale:', [{ client }, { url: `redis://127.0.0.1:${port}` }]);
    const admin = new Redis(port, '127.0.0.1');
    await b.breaker.trip();
    await eventually(() => a.breaker.state === 'forced_open', 1_000);

    // Its subscription back after a cut, instance a reads the fleet state again.
    holdRead = true;
    await admin.client('KILL', 'TYPE', 'pubsub');
    await eventually(() => release !== undefined, 3_000);
    await subscribed(2);
    await b.breaker.reset({ force: true });
    await eventually(() => a.breaker.state === 'closed', 1_000);
    release!();
    await new Promise((resolve) => setImmediate(resolve));

    expect(a.breaker.state).toBe('closed');
    admin.disconnect();
    io.disconnect();
  });

  it("should end as the fleet did when another instance's older action is heard before the answer to its own", async () => {
    server = await startRedisServer(port);
    // Instance a sends its reset only once let: b's trip runs first in Redis, and a hears it.
    let release: (() => void) | undefined;
    let hold = false;
    const io = new Redis(port, '127.0.0.1');
    const client = intercepted(io, async (args, send) => {
      if (hold && runs(args, CONTROL_SCRIPT)) {
        hold = false;
        await new Promise<void>((resolve) => (release = resolve));
      }
      return send();
    });
    const [a, b] = await pair('order:', [{ client }, { url: `redis://127.0.0.1:${port}` }]);
    const admin = new Redis(port, '127.0.0.1');
    await b.breaker.disable();
    await eventually(() => a.breaker.state === 'disabled', 1_000);

    hold = true;
    const resetting = a.breaker.reset({ force: true });
    await b.breaker.trip();
    await eventually(() => a.breaker.state === 'forced_open', 1_000);
    // The reset's own message is lost to a (its subscription cut): only its answer tells it.
    await admin.client('KILL', 'TYPE', 'pubsub');
    release!();
    await resetting;
    await subscribed(2);

    await eventually(() => a.breaker.state === 'closed' && b.breaker.state === 'closed', 1_000);
    admin.disconnect();
    io.disconnect();
  });

  it('should catch up on a transition published while its subscription was reconnecting, with either library', async () => {
    server = await startRedisServer(port);
    const io = new Redis(port, '127.0.0.1');
    const [a, b] = await pair('cut:', [{ url: `redis://127.0.0.1:${port}` }, { client: io }]);
    const admin = new Redis(port, '127.0.0.1');
    const cutSubscriptions = () => admin.client('KILL', 'TYPE', 'pubsub');

    // Each trip is published while every subscription is gone: only a read of the fleet state
    // once the subscription is back can tell the other instance.
    await cutSubscriptions();
    await a.breaker.trip();
    await eventually(() => b.breaker.state === 'forced_open', 1_000);
    await subscribed(2);

    await cutSubscriptions();
    await b.breaker.reset({ force: true });
    await eventually(() => a.breaker.state === 'closed', 1_000);
    admin.disconnect();
    io.disconnect();
  });
});
