/**
 * Every manual action (`trip`, `reset`, `disable`) of a breaker on the redis store has exactly
 * one audit entry once it took effect: written by the script that applied it to the fleet, or,
 * when it applied to its own instance only (made before the store attached, while Redis was
 * down, or over a link that stalled), by that instance once Redis answers.
 */
import type { ChildProcess } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import Redis from 'ioredis';
import type { BreakerOptions } from '../../src/core/breaker-options';
import { BreakerRegistry } from '../../src/core/registry';
import type { RedisClient } from '../../src/stores/redis/redis-client';
import { RedisStore, type RedisStoreOptions } from '../../src/stores/redis/redis.store';
import { killHard } from '../support/child-process';
import { eventually } from '../support/eventually';
import { freezableProxy } from '../support/freezable-proxy';
import { deleteKeys, REDIS_URL, startRedisServer, testPrefix } from '../support/redis-fixture';

const silent = { warn: () => undefined, error: () => undefined, log: () => undefined };

jest.setTimeout(30_000);

const cleanups: Array<() => Promise<unknown> | unknown> = [];

/** Closes what the test opened, the newest first. */
async function cleanUp(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
}

afterEach(cleanUp);

/** A store of one instance, not attached yet, with the registry that audits to it. */
function unattached(
  prefix: string,
  connection: { url: string } | { client: RedisClient },
  extra: Partial<RedisStoreOptions> = {},
  breakers: Record<string, BreakerOptions> = { payments: {} },
) {
  const store = new RedisStore(
    { type: 'redis', ...connection, keyPrefix: prefix, instanceId: 'a', heartbeat: 60_000, ...extra },
    silent,
  );
  cleanups.push(() => store.close());
  const registry = new BreakerRegistry({ breakers, auditLog: store.auditLog });
  return { store, registry, breaker: registry.get('payments') };
}

/** The entries of the manual actions' stream, as Redis holds them (none while it does not answer). */
async function manualEntries(admin: Redis, prefix: string): Promise<Array<Record<string, string>>> {
  const entries = await admin.xrange(`${prefix}audit`, '-', '+').catch(() => []);
  return entries.map(([, fields]) => {
    const f: Record<string, string> = {};
    for (let i = 0; i < fields.length; i += 2) f[fields[i]] = fields[i + 1];
    return f;
  });
}

describe('manual actions on the shared Redis', () => {
  const prefix = testPrefix();
  let admin: Redis;

  beforeEach(() => {
    admin = new Redis(REDIS_URL);
    cleanups.push(() => admin.disconnect());
  });

  afterEach(() => deleteKeys(prefix));

  it('should audit once a trip made before the store attached (a provider tripping at construction)', async () => {
    const a = unattached(prefix, { url: REDIS_URL });

    await a.breaker.trip('maintenance', 'alice');
    await a.store.attach(a.registry);

    expect(await manualEntries(admin, prefix)).toEqual([
      expect.objectContaining({
        breaker: 'payments',
        action: 'trip',
        from: 'closed',
        to: 'forced_open',
        reason: 'maintenance',
        actor: 'alice',
        instance: 'a',
      }),
    ]);
    // Listed by any instance of the fleet, once.
    const b = unattached(prefix, { url: REDIS_URL }, { instanceId: 'b' });
    await b.store.attach(b.registry);
    expect((await b.registry.audit('payments')).map((e) => [e.action, e.instance])).toEqual([['trip', 'a']]);
    expect((await a.registry.audit('payments')).map((e) => e.action)).toEqual(['trip']);
  });

  it('should audit each manual action once while Redis answers, with nothing written twice', async () => {
    const a = unattached(prefix, { url: REDIS_URL }, { heartbeat: 20 });
    await a.store.attach(a.registry);

    await a.breaker.trip('maintenance', 'alice');
    await a.breaker.trip('again', 'alice'); // changes nothing: its instance writes it
    await a.breaker.reset({ reason: 'done', actor: 'alice', force: true });
    await delay(100); // heartbeats

    expect((await manualEntries(admin, prefix)).map((e) => [e.action, e.reason])).toEqual([
      ['trip', 'maintenance'],
      ['trip', 'again'],
      ['reset', 'done'],
    ]);
  });
});

describe('manual actions that applied to their instance only', () => {
  const port = 22_420 + Math.floor(Math.random() * 1_000);
  const prefix = 'manual-audit:';
  const url = `redis://127.0.0.1:${port}`;
  let server: ChildProcess | undefined;
  let admin: Redis;

  beforeEach(() => {
    admin = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1, retryStrategy: () => 50 });
    admin.on('error', () => undefined);
    cleanups.push(() => admin.disconnect());
  });

  afterEach(async () => {
    // The stores and clients first, while their Redis still answers.
    await cleanUp();
    if (server !== undefined) await killHard(server);
    server = undefined;
  });

  const fleetState = async () => (await admin.hget(`${prefix}state:payments`, 'state')) ?? 'closed';

  it('should audit once a trip made while Redis was down at boot, when Redis answers', async () => {
    const a = unattached(prefix, { url }, { commandTimeout: 100, heartbeat: 50 });
    await a.store.attach(a.registry);
    expect(a.store.status().status).toBe('down');

    await a.breaker.trip('maintenance', 'alice');
    expect(a.breaker.state).toBe('forced_open');
    server = await startRedisServer(port);
    await eventually(async () => (await manualEntries(admin, prefix)).length > 0, 5_000);
    await delay(300); // reconnects, reads and heartbeats: none writes it again

    expect(await manualEntries(admin, prefix)).toEqual([
      expect.objectContaining({
        breaker: 'payments',
        action: 'trip',
        to: 'forced_open',
        actor: 'alice',
        instance: 'a',
      }),
    ]);
    // Applied to its instance only, as documented: the fleet never got it.
    expect(await fleetState()).toBe('closed');
    expect((await a.registry.audit('payments')).map((e) => e.action)).toEqual(['trip']);
  });

  it('should audit once a trip made while Redis was down after boot, when Redis is back', async () => {
    server = await startRedisServer(port);
    const a = unattached(prefix, { url }, { commandTimeout: 100, heartbeat: 50 });
    await a.store.attach(a.registry);
    await killHard(server);
    server = undefined;
    await eventually(() => a.store.status().status === 'down', 2_000);

    await a.breaker.disable('incident', 'bob');
    await a.breaker.disable('still', 'bob'); // no change: written by its instance too
    server = await startRedisServer(port);
    await eventually(async () => (await manualEntries(admin, prefix)).length >= 2, 5_000);
    await delay(300);

    expect((await manualEntries(admin, prefix)).map((e) => [e.action, e.reason, e.to])).toEqual([
      ['disable', 'incident', 'disabled'],
      ['disable', 'still', 'disabled'],
    ]);
  });

  it('should audit once a trip whose script timed out over a stalled link and never applied', async () => {
    server = await startRedisServer(port);
    const proxy = await freezableProxy(port);
    cleanups.push(() => proxy.close());
    const a = unattached(
      prefix,
      { url: `redis://127.0.0.1:${proxy.port}` },
      { commandTimeout: 100, heartbeat: 50 },
    );
    await a.store.attach(a.registry);

    proxy.freeze();
    await a.breaker.trip('stale', 'alice');
    await delay(50);
    proxy.thaw();
    await eventually(async () => (await manualEntries(admin, prefix)).length > 0, 2_000);
    await delay(300);

    // Its script reached Redis after its deadline and changed nothing; its instance wrote the entry.
    expect(await fleetState()).toBe('closed');
    expect(await manualEntries(admin, prefix)).toEqual([
      expect.objectContaining({ action: 'trip', reason: 'stale', to: 'forced_open', instance: 'a' }),
    ]);
  });

  it('should not audit twice a trip whose script applied but whose answer came after commandTimeout', async () => {
    server = await startRedisServer(port);
    const io = new Redis(port, '127.0.0.1');
    cleanups.push(() => io.disconnect());
    // The trip's answer is read 300 ms late: it ran in Redis at once (and wrote its entry).
    let slowTrip = false;
    const call = io.call.bind(io) as (command: string, ...args: string[]) => Promise<unknown>;
    io.call = (async (command: string, ...args: string[]) => {
      const reply = await call(command, ...args);
      // The one script sent with the fleet's channel here: the trip's.
      if (slowTrip && args.includes(`${prefix}transitions`)) {
        slowTrip = false;
        await delay(300);
      }
      return reply;
    }) as typeof io.call;
    const a = unattached(prefix, { client: io }, { commandTimeout: 100, heartbeat: 50 });
    await a.store.attach(a.registry);

    slowTrip = true;
    await a.breaker.trip('maintenance', 'alice');
    await delay(600); // the answer, then heartbeats: the store is up again and writes what it holds

    expect(a.store.status().status).toBe('up');
    expect(await fleetState()).toBe('forced_open');
    expect((await manualEntries(admin, prefix)).map((e) => [e.action, e.instance])).toEqual([['trip', 'a']]);
  });
});
