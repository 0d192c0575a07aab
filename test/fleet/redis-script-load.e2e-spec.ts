/**
 * The store loads its Lua scripts (SCRIPT LOAD) as its connection becomes ready, at first and
 * on every reconnect, so that no command of its own meets NOSCRIPT and pays a second round trip
 * for the script's body (EVAL), not even the first HALF_OPEN claim after Redis restarted empty.
 * On a redis-server of the test's own, restarted by the test (never the shared one).
 */
import type { ChildProcess } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import Redis from 'ioredis';
import { BreakerRegistry } from '../../src/core/registry';
import { RedisStore } from '../../src/stores/redis/redis.store';
import { CLAIM_SCRIPT, SETTLE_SCRIPT } from '../../src/stores/redis/redis-scripts';
import { killHard } from '../support/child-process';
import { eventually } from '../support/eventually';
import { startRedisServer } from '../support/redis-fixture';

const silent = { warn: () => undefined, error: () => undefined, log: () => undefined };

jest.setTimeout(30_000);

const OPEN_DURATION = 300;

/** An argument as MONITOR shows it (escaped as Redis' `sdscatrepr` does), as it was sent. */
const unrepr = (shown = '') =>
  shown.replace(/\\(x[0-9a-f]{2}|.)/g, (_, c: string) =>
    c.length === 3
      ? String.fromCharCode(parseInt(c.slice(1), 16))
      : (({ n: '\n', r: '\r', t: '\t', a: '\x07', b: '\b' } as Record<string, string>)[c] ?? c),
  );

describe.each(['the store’s own client (url)', 'an app’s ioredis client'])(
  'RedisStore: scripts loaded on connect, with %s',
  (kind) => {
    const port = 24_420 + Math.floor(Math.random() * 1_000);
    let server: ChildProcess | undefined;
    const cleanups: Array<() => Promise<unknown> | unknown> = [];

    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
      if (server !== undefined) await killHard(server);
      server = undefined;
    });

    /** A plain connection to the test's Redis (as it runs now). */
    function admin(): Redis {
      const io = new Redis(port, '127.0.0.1');
      io.on('error', () => undefined);
      cleanups.push(() => io.disconnect());
      return io;
    }

    async function instance() {
      let options: ConstructorParameters<typeof RedisStore>[0];
      if (kind.includes('url')) {
        options = { type: 'redis', url: `redis://127.0.0.1:${port}` };
      } else {
        const client = new Redis(port, '127.0.0.1', { retryStrategy: () => 50 });
        client.on('error', () => undefined);
        cleanups.push(() => client.disconnect());
        options = { type: 'redis', client };
      }
      const store = new RedisStore(
        { ...options, keyPrefix: 'script-load:', heartbeat: 60_000, commandTimeout: 1_000 },
        silent,
      );
      cleanups.push(() => store.close());
      const registry = new BreakerRegistry({
        breakers: { payments: { failureThreshold: 1, openDuration: OPEN_DURATION, halfOpenMaxCalls: 1 } },
        auditLog: store.auditLog,
      });
      await store.attach(registry);
      return { store, breaker: registry.get('payments') };
    }

    /** What Redis counted since it started: EVAL calls, and NOSCRIPT error replies. */
    async function counted(redis: Redis): Promise<{ eval: number; noscript: number; evalsha: number }> {
      const stats = `${await redis.info('commandstats')}\n${await redis.info('errorstats')}`;
      const calls = (command: string) =>
        Number(new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(stats)?.[1] ?? 0);
      const noscript = Number(/^errorstat_NOSCRIPT:count=(\d+)/m.exec(stats)?.[1] ?? 0);
      return { eval: calls('eval'), noscript, evalsha: calls('evalsha') };
    }

    it('reads the fleet state at first connect by SHA1 only', async () => {
      server = await startRedisServer(port);
      const a = await instance();
      await a.breaker.execute(() => Promise.reject(new Error('down'))).catch(() => undefined);
      await eventually(async () => (await counted(admin())).evalsha >= 2, 2_000, 20);

      const after = await counted(admin());
      expect({ eval: after.eval, noscript: after.noscript }).toEqual({ eval: 0, noscript: 0 });
      expect(a.store.stats().errors).toMatchObject({ read: 0, heartbeat: 0, open: 0 });
    });

    it('sends the first HALF_OPEN claim after Redis restarted empty by SHA1 only', async () => {
      server = await startRedisServer(port);
      const a = await instance();
      // Its first heartbeat answered: nothing in flight that ioredis would send again, by SHA1, as it reconnects.
      const before = admin();
      await eventually(async () => (await before.exists('script-load:instances')) === 1, 2_000, 10);
      await killHard(server);
      server = await startRedisServer(port);
      const redis = admin();
      // Back on the restarted Redis: it read the fleet state there.
      await eventually(
        async () => {
          const now = await counted(redis);
          return now.eval + now.evalsha > 0;
        },
        5_000,
        20,
      );
      await eventually(() => a.store.status().status === 'up', 5_000, 20);

      const monitor = await admin().monitor();
      const sent: string[][] = [];
      monitor.on('monitor', (_time: string, args: string[]) => sent.push(args));
      await a.breaker.execute(() => Promise.reject(new Error('down'))).catch(() => undefined);
      expect(a.breaker.state).toBe('open');
      await delay(OPEN_DURATION + 50);
      expect(await a.breaker.execute(async () => 'trial')).toBe('trial');
      // The claim, and the trial's outcome after it: Redis answered whatever followed the claim's first command.
      await eventually(
        () => {
          const claimed = sent.findIndex((args) => args[1] === CLAIM_SCRIPT.sha);
          return claimed >= 0 && sent.slice(claimed).some((args) => args[1] === SETTLE_SCRIPT.sha);
        },
        2_000,
        10,
      );
      monitor.disconnect();

      const claims = sent.filter(
        (args) => args[1] === CLAIM_SCRIPT.sha || unrepr(args[1]) === CLAIM_SCRIPT.body,
      );
      expect(claims.map((args) => args[0].toUpperCase())).toEqual(['EVALSHA']);
      expect(sent.map((args) => args[0].toUpperCase()).filter((command) => command === 'EVAL')).toEqual([]);
      // Since the restart: not one script met NOSCRIPT, and none was sent by its body.
      const after = await counted(redis);
      expect({ eval: after.eval, noscript: after.noscript }).toEqual({ eval: 0, noscript: 0 });
    });
  },
);
