/**
 * A replay the letter's policy refuses before its call runs (its own breaker OPEN, FORCED_OPEN or
 * HALF_OPEN with its trial taken, its rate limit) is not a failed replay: the admin API answers
 * 503 with `Retry-After` and `outcome: 'not_run'`, the letter stays as it was and its claim is
 * freed. A breaker of another dependency that refuses a call made inside the method, or the
 * policy's breaker refusing a retry after the call ran, is a failed replay (502), as before.
 * Real apps (Express and Fastify) over real HTTP, with the memory and the sqlite store.
 */
import { join } from 'node:path';
import { Injectable, type INestApplication } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { BreakerRegistry } from '../../src/core/registry';
import { CircuitBreaker } from '../../src/nest/circuit-breaker.decorator';
import { DeadLetters } from '../../src/nest/dead-letters/dead-letters.service';
import { Resilient } from '../../src/nest/policy.decorators';
import { ResilienceModule } from '../../src/nest/resilience.module';
import type { ResilienceModuleOptions } from '../../src/nest/resilience-options.interface';
import { sqliteDriver } from '../support/sqlite-fixture';
import { createHttpApp, type HttpAdapterFactory, initHttpApp } from '../support/http-adapter';
import { useTempDir } from '../support/temp-dir';
import { ADMIN_TOKEN, closeApp } from './admin-app.fixture';

const auth = { Authorization: `Bearer ${ADMIN_TOKEN}` };

/** A dependency the payments call makes: its own breaker, tripped by the tests. */
@Injectable()
class Inventory {
  @CircuitBreaker('inventory')
  async reserve(order: string): Promise<string> {
    return `reserved ${order}`;
  }
}

/** A payment provider that fails while `down` and counts the captures it was asked for. */
@Injectable()
class Payments {
  static down = true;
  static captured: string[] = [];

  constructor(private readonly inventory: Inventory) {}

  @Resilient('payments')
  async capture(order: string): Promise<string> {
    Payments.captured.push(order);
    await this.inventory.reserve(order);
    if (Payments.down) throw new Error('provider down');
    return 'captured';
  }
}

/** The same, but its breaker is the method's own (`@CircuitBreaker`), the policy having none. */
@Injectable()
class Refunds {
  static down = true;
  static refunded: string[] = [];

  @Resilient('refunds')
  @CircuitBreaker('refunds-provider')
  async refund(order: string): Promise<string> {
    Refunds.refunded.push(order);
    if (Refunds.down) throw new Error('refunds down');
    return 'refunded';
  }
}

type Options = Pick<ResilienceModuleOptions, 'breakers' | 'policies' | 'store'>;

const BREAKERS: Options['breakers'] = {
  payments: { failureThreshold: 1, openDuration: 60_000, halfOpenMaxCalls: 1 },
  inventory: { failureThreshold: 1, openDuration: 60_000 },
  'refunds-provider': { failureThreshold: 1, openDuration: 30_000 },
};

describe('Admin API: a replay its own policy refuses is not run', () => {
  const dir = useTempDir();
  let app: INestApplication;
  let http: ReturnType<typeof request>;

  async function start(options: Options, adapter?: HttpAdapterFactory): Promise<void> {
    const moduleRef = await Test.createTestingModule({
      imports: [
        ResilienceModule.forRoot({
          ...options,
          // Every app has Refunds, whose policy is always this one.
          policies: { refunds: { deadLetter: true }, ...options.policies },
          admin: { token: ADMIN_TOKEN },
          metrics: false,
        }),
      ],
      providers: [Inventory, Payments, Refunds],
    }).compile();
    app = createHttpApp(moduleRef, { logger: false }, adapter);
    await initHttpApp(app);
    http = request(app.getHttpServer());
  }

  beforeEach(() => {
    Payments.down = true;
    Payments.captured = [];
    Refunds.down = true;
    Refunds.refunded = [];
  });

  afterEach(() => closeApp(app));

  /** One failed call, kept as a dead letter; resolves with it as the admin API lists it. */
  async function deadLetter(call: () => Promise<unknown>, failure: string): Promise<Record<string, unknown>> {
    await expect(call()).rejects.toThrow(failure);
    const deadLetters = app.get(DeadLetters);
    for (let i = 0; i < 200; i++) {
      const [letter] = await deadLetters.list();
      if (letter !== undefined)
        return (await http.get(`/resilience/dead-letters/${letter.id}`).set(auth)).body;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    throw new Error('no dead letter was kept');
  }

  /** Expects `letter` listed exactly as it was, alone. */
  async function expectKeptAsItWas(letter: Record<string, unknown>): Promise<void> {
    expect((await http.get('/resilience/dead-letters').set(auth).expect(200)).body).toEqual([letter]);
  }

  it.each([
    ['express', undefined],
    ['fastify', () => new FastifyAdapter()],
  ])(
    'should answer 503 with Retry-After and keep the letter while its policy breaker is OPEN (%s, memory store)',
    async (_, adapter) => {
      await start(
        { breakers: BREAKERS, policies: { payments: { breaker: 'payments', deadLetter: true } } },
        adapter,
      );
      const letter = await deadLetter(() => app.get(Payments).capture('order-1'), 'provider down');
      expect(app.get(BreakerRegistry).get('payments').state).toBe('open');
      Payments.down = false;

      const res = await http
        .post(`/resilience/dead-letters/${String(letter.id)}/replay`)
        .set(auth)
        .expect(503);

      const retryAfter = Number(res.headers['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(59);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(res.body).toEqual({
        statusCode: 503,
        error: 'Service Unavailable',
        code: 'BREAKER_OPEN',
        id: letter.id,
        policy: 'payments',
        outcome: 'not_run',
        retryAfterMs: expect.any(Number),
        cause: expect.objectContaining({ name: 'BreakerOpenError', code: 'BREAKER_OPEN' }),
        message: `Dead letter "${String(letter.id)}" (policy "payments") was not run: Circuit breaker "payments" is open and does not permit further calls. It is kept as it was; replay it again in ${retryAfter} s`,
      });
      expect(res.body.retryAfterMs).toBeGreaterThan(58_000);
      expect(Payments.captured).toEqual(['order-1']);
      await expectKeptAsItWas(letter);

      // Nothing holds it: once the breaker lets calls through, the same letter is replayed.
      await app.get(BreakerRegistry).get('payments').reset({ force: true });
      await http
        .post(`/resilience/dead-letters/${String(letter.id)}/replay`)
        .set(auth)
        .expect(200);
      expect(Payments.captured).toEqual(['order-1', 'order-1']);
    },
  );

  it('should not run it while its HALF_OPEN breaker has its one trial taken', async () => {
    // The breakers read the wall clock: moving Date.now moves them.
    let now = Date.now();
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    await start({ breakers: BREAKERS, policies: { payments: { breaker: 'payments', deadLetter: true } } });
    const letter = await deadLetter(() => app.get(Payments).capture('order-1'), 'provider down');
    const breaker = app.get(BreakerRegistry).get('payments');
    now += 60_000;
    // A trial call held running while the breaker is HALF_OPEN: its one slot is taken.
    let endTrial!: () => void;
    const trial = breaker.execute(() => new Promise<void>((resolve) => (endTrial = resolve)));
    expect(breaker.snapshot()).toMatchObject({ state: 'half_open', inFlight: 1 });
    Payments.down = false;

    try {
      const res = await http
        .post(`/resilience/dead-letters/${String(letter.id)}/replay`)
        .set(auth)
        .expect(503);

      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(res.body).toMatchObject({ outcome: 'not_run', code: 'BREAKER_OPEN', policy: 'payments' });
      expect(res.body.message).toContain('is half_open');
      expect(Payments.captured).toEqual(['order-1']);
      await expectKeptAsItWas(letter);
    } finally {
      endTrial();
      await trial;
      jest.restoreAllMocks();
    }
  });

  it('should not run it when its own rate limit refuses it', async () => {
    await start({
      breakers: BREAKERS,
      policies: { payments: { deadLetter: true, rateLimit: { limit: 1, interval: 60_000 } } },
    });
    const letter = await deadLetter(() => app.get(Payments).capture('order-1'), 'provider down');
    Payments.down = false;

    const res = await http
      .post(`/resilience/dead-letters/${String(letter.id)}/replay`)
      .set(auth)
      .expect(503);

    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(res.body).toMatchObject({ outcome: 'not_run', code: 'RATE_LIMITED', policy: 'payments' });
    expect(res.body.message).toMatch(/was not run: Policy "payments": rate limit reached/);
    expect(Payments.captured).toEqual(['order-1']);
    await expectKeptAsItWas(letter);
  });

  it("should not run it while the method's own @CircuitBreaker is OPEN", async () => {
    await start({ breakers: BREAKERS, policies: { payments: { deadLetter: true } } });
    const letter = await deadLetter(() => app.get(Refunds).refund('order-9'), 'refunds down');
    expect(app.get(BreakerRegistry).get('refunds-provider').state).toBe('open');
    Refunds.down = false;

    const res = await http
      .post(`/resilience/dead-letters/${String(letter.id)}/replay`)
      .set(auth)
      .expect(503);

    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(29);
    expect(res.body).toMatchObject({ outcome: 'not_run', code: 'BREAKER_OPEN', policy: 'refunds' });
    expect(Refunds.refunded).toEqual(['order-9']);
    await expectKeptAsItWas(letter);
  });

  it('should answer 502 failed when a breaker the call ran into is open (an inner dependency)', async () => {
    await start({ breakers: BREAKERS, policies: { payments: { breaker: 'payments', deadLetter: true } } });
    const letter = await deadLetter(() => app.get(Payments).capture('order-1'), 'provider down');
    await app.get(BreakerRegistry).get('payments').reset({ force: true });
    await app.get(BreakerRegistry).get('inventory').trip('inventory maintenance');
    Payments.down = false;

    const res = await http
      .post(`/resilience/dead-letters/${String(letter.id)}/replay`)
      .set(auth)
      .expect(502);

    expect(res.headers['retry-after']).toBeUndefined();
    expect(res.body).toMatchObject({
      outcome: 'failed',
      cause: { name: 'BreakerOpenError', code: 'BREAKER_OPEN' },
      message: `Dead letter "${String(letter.id)}" (policy "payments") failed again: Circuit breaker "inventory" is forced_open and does not permit further calls`,
    });
    expect(Payments.captured).toEqual(['order-1', 'order-1']);
  });

  it('should answer 502 failed when its own breaker refused a retry after the call ran', async () => {
    await start({
      breakers: BREAKERS,
      policies: {
        payments: { breaker: 'payments', deadLetter: true, retry: { attempts: 2, delay: 1, jitter: 'none' } },
      },
    });
    const letter = await deadLetter(
      () => app.get(Payments).capture('order-1'),
      'Circuit breaker "payments" is open',
    );
    await app.get(BreakerRegistry).get('payments').reset({ force: true });

    // Still down: the first attempt runs and fails (opening the breaker), which refuses the retry.
    const res = await http
      .post(`/resilience/dead-letters/${String(letter.id)}/replay`)
      .set(auth)
      .expect(502);

    expect(res.body).toMatchObject({ outcome: 'failed', cause: { code: 'BREAKER_OPEN' } });
    expect(Payments.captured).toEqual(['order-1', 'order-1']);
  });

  it('should free the claim of a letter not run (sqlite store)', async () => {
    const path = join(dir(), 'resilience.db');
    await start({
      breakers: BREAKERS,
      policies: { payments: { breaker: 'payments', deadLetter: true } },
      store: { type: 'sqlite', path },
    });
    const letter = await deadLetter(() => app.get(Payments).capture('order-1'), 'provider down');
    Payments.down = false;

    await http
      .post(`/resilience/dead-letters/${String(letter.id)}/replay`)
      .set(auth)
      .expect(503);

    await expectKeptAsItWas(letter);
    const other = sqliteDriver('better-sqlite3').open(path);
    try {
      expect(other.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM dead_letter_claims').get()).toEqual({
        n: 0,
      });
    } finally {
      other.close();
    }
  });
});
