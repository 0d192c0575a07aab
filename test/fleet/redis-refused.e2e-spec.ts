/**
 * A Redis that answers but refuses the store's scripts (out of memory under `noeviction`, an ACL
 * user without `@scripting`) is an outage of the fleet: the store is down, says why once, and is
 * up again only once a fleet command works, whatever plain reads (the audit log) do meanwhile.
 */
import type { ChildProcess } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import Redis from 'ioredis';
import { BreakerRegistry } from '../../src/core/registry';
import { RedisStore } from '../../src/stores/redis/redis.store';
import { killHard } from '../support/child-process';
import { startRedisServer } from '../support/redis-fixture';

jest.setTimeout(20_000);

describe('RedisStore on a Redis that refuses its scripts', () => {
  const port = 21_420 + Math.floor(Math.random() * 1_000);
  let server: ChildProcess;
  let admin: Redis;
  let store: RedisStore | undefined;

  beforeAll(async () => {
    server = await startRedisServer(port);
    admin = new Redis(port, '127.0.0.1');
    await admin.call('ACL', 'SETUSER', 'noscript', 'on', '>pw', '~*', '&*', '+@all', '-@scripting');
  });

  afterEach(async () => {
    await store?.close();
    await admin.config('SET', 'maxmemory', '0');
  });

  afterAll(async () => {
    admin.disconnect();
    await killHard(server);
  });

  it.each([
    {
      refusal: 'out of memory (maxmemory, noeviction)',
      url: () => `redis://127.0.0.1:${port}`,
      refuse: async () => {
        await admin.config('SET', 'maxmemory-policy', 'noeviction');
        await admin.config('SET', 'maxmemory', '1');
      },
      allow: () => admin.config('SET', 'maxmemory', '0'),
      says: 'OOM',
    },
    {
      refusal: 'an ACL user without @scripting',
      url: () => `redis://noscript:pw@127.0.0.1:${port}`,
      refuse: async () => undefined,
      allow: () => admin.call('ACL', 'SETUSER', 'noscript', '+@scripting'),
      says: 'NOPERM',
    },
  ])(
    'should be down with one warning naming the refusal while Redis refuses its scripts ($refusal), though reads work',
    async ({ url, refuse, allow, says }) => {
      const logger = { warn: jest.fn(), error: jest.fn(), log: jest.fn() };
      await refuse();
      store = new RedisStore(
        { type: 'redis', url: url(), keyPrefix: `refused:${Date.now()}:`, heartbeat: 50 },
        logger,
      );
      const registry = new BreakerRegistry({ breakers: { payments: {} }, auditLog: store.auditLog });
      await store.attach(registry);

      const seen: string[] = [];
      for (let i = 0; i < 8; i++) {
        await delay(60);
        // A plain read (an admin reading the audit log) works: it says nothing of the scripts.
        await expect(registry.audit()).resolves.toEqual([]);
        seen.push(store.status().status);
      }
      expect(seen).toEqual(Array(8).fill('down'));
      // Each heartbeat tries again (a read of the fleet state while Redis' clock is not known yet).
      const { heartbeat = 0, read = 0 } = store.stats().errors;
      expect(heartbeat + read).toBeGreaterThan(3);
      expect(logger.warn).toHaveBeenCalledTimes(1);
      expect(logger.warn.mock.calls[0][0]).toContain('refuses');
      expect(logger.warn.mock.calls[0][0]).toContain(says);
      expect(logger.log).not.toHaveBeenCalled();

      await allow();
      const started = Date.now();
      while (store.status().status !== 'up') {
        if (Date.now() - started > 2_000) throw new Error('not up again within 2 s');
        await delay(10);
      }
      expect(logger.log).toHaveBeenCalledTimes(1);
      expect(logger.warn).toHaveBeenCalledTimes(1);
    },
  );
});
