import { Injectable } from '@nestjs/common';
import { setTimeout as delay } from 'node:timers/promises';
import { DeadLetters } from '../../src/nest/dead-letters/dead-letters.service';
import { Resilient } from '../../src/nest/policy.decorators';
import { adaptRedisClient, type RedisClient } from '../../src/stores/redis/redis-client';
import { RedisDeadLetters } from '../../src/stores/redis/redis-dead-letters';
import { RedisStore } from '../../src/stores/redis/redis.store';
import { closeAllApps, createApp } from '../nest/nest-app.fixture';
import { behavesAsDeadLetterStore, letter } from '../support/dead-letter-store-contract';
import {
  closeRedisClients,
  connectClient,
  deleteKeys,
  REDIS_LIBRARIES,
  REDIS_URL,
  testPrefix,
  type RedisLibrary,
} from '../support/redis-fixture';

const logger = { warn: jest.fn(), error: jest.fn(), log: jest.fn() };

let prefix: string;

beforeEach(() => {
  prefix = testPrefix();
});

afterEach(async () => {
  await closeAllApps();
  await deleteKeys(prefix);
});

describe.each(REDIS_LIBRARIES)('RedisDeadLetters with a %s client', (library: RedisLibrary) => {
  let client: RedisClient;

  beforeAll(async () => {
    client = await connectClient(library);
    // Connected, as the store wants an app's client (it sends nothing on one that is not ready).
    const io = client as { status?: string; once?: (event: string, listener: () => void) => void };
    if (io.status !== undefined && io.status !== 'ready')
      await new Promise<void>((resolve) => io.once?.('ready', resolve));
  });

  afterAll(closeRedisClients);

  /** The store's own dead letters (a slow machine must not time them out). */
  const storeLetters = () =>
    new RedisStore({ type: 'redis', client, keyPrefix: prefix, commandTimeout: 5_000 }, logger).deadLetters;

  behavesAsDeadLetterStore((capacity) => {
    if (capacity === undefined) return storeLetters();
    const connection = adaptRedisClient(client, false);
    return new RedisDeadLetters(
      {
        command: (_operation, args) => connection.command(args),
        script: (_operation, script, keys, args) =>
          connection.command(['EVAL', script.body, String(keys.length), ...keys, ...args]),
        key: `${prefix}dead-letters`,
      },
      capacity,
    );
  });

  it('should keep the newest 10,000 letters by default', async () => {
    const letters = storeLetters();
    await Promise.all(Array.from({ length: 10_001 }, (_, n) => letters.add(letter('payments', n + 1))));

    const all = await letters.list({ limit: 20_000 });
    expect(all).toHaveLength(10_000);
    expect(all.at(-1)?.args[0]).toBe('order-2');
  });

  it('should never give an id again, even after every letter was purged', async () => {
    const letters = storeLetters();
    const first = await letters.add(letter('payments', 1));
    expect(await letters.purge()).toBe(1);

    const second = await letters.add(letter('payments', 2));
    expect(second.id).not.toBe(first.id);
    expect(await letters.get(first.id)).toBeUndefined();
    expect(await letters.list()).toEqual([second]);
  });
});

/** A payment provider that fails while `down`, and remembers what it was asked. */
@Injectable()
class PaymentGateway {
  static down = true;
  static captured: unknown[][] = [];

  @Resilient('payments')
  async capture(orderId: string, payment: { amount: number }): Promise<string> {
    PaymentGateway.captured.push([orderId, payment]);
    if (PaymentGateway.down) throw new Error('gateway down');
    return `captured ${orderId}`;
  }
}

describe('dead letters shared by a fleet through Redis', () => {
  it('should list a letter kept on one instance on another, and replay it there', async () => {
    const instance = async () => {
      const t = await createApp(
        { providers: [PaymentGateway] },
        {
          store: { type: 'redis', url: REDIS_URL, keyPrefix: prefix, commandTimeout: 2_000 },
          policies: { payments: { deadLetter: true } },
        },
      );
      return { gateway: t.app.get(PaymentGateway), deadLetters: t.app.get(DeadLetters) };
    };
    const [a, b] = [await instance(), await instance()];

    await expect(a.gateway.capture('o-1', { amount: 5 })).rejects.toThrow('gateway down');
    const [kept] = await eventuallyListed(b.deadLetters);
    expect(kept).toMatchObject({ policy: 'payments', args: ['o-1', { amount: 5 }], attempts: 1 });

    PaymentGateway.down = false;
    await expect(b.deadLetters.replay(kept.id)).resolves.toMatchObject({ ok: true });
    expect(PaymentGateway.captured).toEqual([
      ['o-1', { amount: 5 }],
      ['o-1', { amount: 5 }],
    ]);
    expect(await a.deadLetters.list()).toEqual([]);
  });
});

/** The letters `deadLetters` lists once the one being kept (asynchronously, after the failure) is there. */
async function eventuallyListed(deadLetters: DeadLetters) {
  for (let i = 0; i < 100; i++) {
    const letters = await deadLetters.list();
    if (letters.length > 0) return letters;
    await delay(10);
  }
  throw new Error('no dead letter within 1 s');
}
