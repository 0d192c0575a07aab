import { Injectable } from '@nestjs/common';
import { setTimeout as delay } from 'node:timers/promises';
import { DeadLetters } from '../../src/nest/dead-letters/dead-letters.service';
import { Resilient } from '../../src/nest/policy.decorators';
import { closeAllApps, createApp } from '../nest/nest-app.fixture';
import { deleteKeys, REDIS_URL, testPrefix } from '../support/redis-fixture';

const TOKEN = 's3cret-admin-token';
const auth = { Authorization: `Bearer ${TOKEN}` };

/** A payment provider that fails while `down`, holds each call until `release`, and counts them. */
@Injectable()
class PaymentGateway {
  static down = true;
  static captured: string[] = [];
  static release: Promise<void> = Promise.resolve();

  @Resilient('payments')
  async capture(orderId: string): Promise<string> {
    PaymentGateway.captured.push(orderId);
    await PaymentGateway.release;
    if (PaymentGateway.down) throw new Error('gateway down');
    return `captured ${orderId}`;
  }
}

let prefix: string;

beforeEach(() => {
  prefix = testPrefix();
  PaymentGateway.down = true;
  PaymentGateway.captured = [];
  PaymentGateway.release = Promise.resolve();
});

afterEach(async () => {
  await closeAllApps();
  await deleteKeys(prefix);
});

const instance = () =>
  createApp(
    { providers: [PaymentGateway] },
    {
      store: { type: 'redis', url: REDIS_URL, keyPrefix: prefix, commandTimeout: 2_000 },
      policies: { payments: { deadLetter: true } },
      admin: { token: TOKEN },
    },
  );

describe('replaying a dead letter shared by a fleet through Redis', () => {
  it('should run it once when two instances are asked to replay it at once: the other answers 409', async () => {
    const [a, b] = [await instance(), await instance()];
    await expect(a.app.get(PaymentGateway).capture('o-1')).rejects.toThrow('gateway down');
    const [kept] = await eventuallyListed(a.app.get(DeadLetters));
    PaymentGateway.down = false;
    let open!: () => void;
    PaymentGateway.release = new Promise((resolve) => (open = resolve));

    const first = a
      .http()
      .post(`/resilience/dead-letters/${kept.id}/replay`)
      .set(auth)
      .then((r) => r);
    while (PaymentGateway.captured.length < 2) await delay(5);
    const asked = b
      .http()
      .post(`/resilience/dead-letters/${kept.id}/replay`)
      .set(auth)
      .then((r) => r);
    // Its answer, or the payment run a second time (then the first replay is let go, to see both end).
    await Promise.race([
      asked,
      (async () => {
        while (PaymentGateway.captured.length < 3) await delay(5);
      })(),
    ]);
    open();
    const second = await asked;

    expect(PaymentGateway.captured).toEqual(['o-1', 'o-1']);
    expect(second.status).toBe(409);
    expect(second.body).toMatchObject({ code: 'REPLAY_IN_PROGRESS', id: kept.id });
    expect((await first).status).toBe(200);
    await b.http().post(`/resilience/dead-letters/${kept.id}/replay`).set(auth).expect(404);
    expect(PaymentGateway.captured).toHaveLength(2);
  });

  it('should let another instance replay a letter once a replay of it failed and freed it', async () => {
    const [a, b] = [await instance(), await instance()];
    await expect(a.app.get(PaymentGateway).capture('o-1')).rejects.toThrow('gateway down');
    const [kept] = await eventuallyListed(a.app.get(DeadLetters));

    await a.http().post(`/resilience/dead-letters/${kept.id}/replay`).set(auth).expect(502);
    PaymentGateway.down = false;
    await b.http().post(`/resilience/dead-letters/${kept.id}/replay`).set(auth).expect(200);

    expect(PaymentGateway.captured).toEqual(['o-1', 'o-1', 'o-1']);
    expect(await b.app.get(DeadLetters).list()).toEqual([]);
  });
});

/** The letters `deadLetters` lists once the one being kept (asynchronously, after the failure) is there. */
async function eventuallyListed(deadLetters: DeadLetters) {
  for (let i = 0; i < 200; i++) {
    const letters = await deadLetters.list();
    if (letters.length > 0) return letters;
    await delay(10);
  }
  throw new Error('no dead letter within 2 s');
}
