/**
 * How an instance dates its scripts' deadlines on Redis' clock when one answer is read late (a
 * burst of answers read at once, a busy event loop): by what the quicker answers before it
 * allowed, so the next command is not expired early for it.
 */
import { setTimeout as delay } from 'node:timers/promises';
import Redis from 'ioredis';
import { BreakerRegistry } from '../../src/core/registry';
import { RedisStore } from '../../src/stores/redis/redis.store';
import { deleteKeys, REDIS_URL, testPrefix } from '../support/redis-fixture';

const silent = { warn: () => undefined, error: () => undefined, log: () => undefined };

describe('RedisStore: the offset to Redis’ clock', () => {
  const prefix = testPrefix();
  const cleanups: Array<() => Promise<unknown> | unknown> = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await deleteKeys(prefix);
  });

  /** An ioredis client whose next command can reach Redis late, or whose answer can be read late. */
  function slowableClient() {
    const client = new Redis(REDIS_URL);
    cleanups.push(() => client.disconnect());
    const call = client.call.bind(client) as (command: string, ...args: string[]) => Promise<unknown>;
    const next = { sentLate: 0, readLate: 0 };
    let answered: Promise<unknown> = Promise.resolve();
    client.call = (async (command: string, ...args: string[]) => {
      const { sentLate, readLate } = next;
      next.sentLate = next.readLate = 0;
      await delay(sentLate);
      const reply = call(command, ...args);
      answered = reply.then(() => delay(readLate));
      await answered;
      return reply;
    }) as typeof client.call;
    return { client, next, answered: () => answered };
  }

  it('should still apply a command that reaches Redis within commandTimeout after an answer read late', async () => {
    const { client, next, answered } = slowableClient();
    const store = new RedisStore(
      { type: 'redis', client, keyPrefix: prefix, heartbeat: 60_000, commandTimeout: 300 },
      silent,
    );
    cleanups.push(() => store.close());
    const registry = new BreakerRegistry({
      breakers: { payments: { resetCooldown: 0 } },
      auditLog: store.auditLog,
    });
    await store.attach(registry);
    const admin = new Redis(REDIS_URL);
    cleanups.push(() => admin.disconnect());
    const breaker = registry.get('payments');

    // Redis ran the trip at once; its answer was read 200 ms later.
    next.readLate = 200;
    await breaker.trip('maintenance', 'alice');
    await answered();
    expect(await admin.hget(`${prefix}state:payments`, 'state')).toBe('forced_open');

    // The reset reaches Redis 150 ms after it was sent, within commandTimeout (300 ms).
    next.sentLate = 150;
    await breaker.reset({ reason: 'maintenance over', actor: 'alice' });
    await answered();

    expect(await admin.hget(`${prefix}state:payments`, 'state')).toBe('closed');
    expect((await registry.audit('payments')).map((e) => e.action)).toEqual(['reset', 'trip']);
  });
});
