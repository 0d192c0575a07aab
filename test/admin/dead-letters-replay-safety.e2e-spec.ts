/**
 * Replaying a dead letter must neither lose it nor run its call twice: while its breaker is
 * OPEN or FORCED_OPEN, and when the store fails to remove a letter whose call succeeded. A real
 * app with the sqlite store over real HTTP; the store's file is broken underneath it through a
 * second connection, as another process could.
 */
import { join } from 'node:path';
import { Injectable, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { BreakerRegistry } from '../../src/core/registry';
import { DeadLetters } from '../../src/nest/dead-letters/dead-letters.service';
import { Resilient } from '../../src/nest/policy.decorators';
import { ResilienceModule } from '../../src/nest/resilience.module';
import type { SqliteConnection } from '../../src/stores/sqlite-drivers/sqlite-driver';
import { sqliteDriver } from '../support/sqlite-fixture';
import { useTempDir } from '../support/temp-dir';
import { ADMIN_TOKEN, closeApp } from './admin-app.fixture';

const auth = { Authorization: `Bearer ${ADMIN_TOKEN}` };

/** A payment provider that fails while `down`, and counts the captures it was asked for. */
@Injectable()
class Payments {
  static down = true;
  static captured: string[] = [];

  @Resilient('payments')
  async capture(order: string): Promise<string> {
    Payments.captured.push(order);
    if (Payments.down) throw new Error('provider down');
    return 'captured';
  }
}

/** Makes every DELETE of a dead letter fail, as a full disk or an I/O error would. */
const BREAK_REMOVAL = `CREATE TRIGGER refuse_removal BEFORE DELETE ON dead_letters
  BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END`;

describe('Admin API: replaying a dead letter neither loses it nor runs it twice', () => {
  const dir = useTempDir();
  let app: INestApplication;
  let http: ReturnType<typeof request>;
  let other: SqliteConnection;

  beforeEach(async () => {
    Payments.down = true;
    Payments.captured = [];
    const path = join(dir(), 'resilience.db');
    const moduleRef = await Test.createTestingModule({
      imports: [
        ResilienceModule.forRoot({
          breakers: { payments: { failureThreshold: 1, openDuration: 60_000 } },
          policies: { payments: { breaker: 'payments', deadLetter: true } },
          store: { type: 'sqlite', path },
          admin: { token: ADMIN_TOKEN },
          metrics: false,
        }),
      ],
      providers: [Payments],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    http = request(app.getHttpServer());
    other = sqliteDriver('better-sqlite3').open(path);
  });

  afterEach(async () => {
    other.close();
    await closeApp(app);
  });

  /** One failed capture, kept as a dead letter; resolves with its id. */
  async function deadLetter(order: string): Promise<string> {
    await expect(app.get(Payments).capture(order)).rejects.toThrow('provider down');
    const deadLetters = app.get(DeadLetters);
    for (let i = 0; i < 200; i++) {
      const [letter] = await deadLetters.list();
      if (letter !== undefined) return letter.id;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    throw new Error('no dead letter was kept');
  }

  it.each([
    ['OPEN (its failure opened it)', 'open', false],
    ['FORCED_OPEN (tripped)', 'forced_open', true],
  ])('should not run a letter while its breaker is %s, keep it once, and say why', async (_, state, trip) => {
    const id = await deadLetter('order-1');
    const breaker = app.get(BreakerRegistry).get('payments');
    if (trip) await breaker.trip('drill');
    expect(breaker.state).toBe(state);
    Payments.down = false;

    // Refused by its own breaker before it ran: not a failure, and the operator is told when to retry.
    const res = await http.post(`/resilience/dead-letters/${id}/replay`).set(auth).expect(503);

    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(res.body).toMatchObject({
      id,
      outcome: 'not_run',
      code: 'BREAKER_OPEN',
      retryAfterMs: expect.any(Number),
      cause: { name: 'BreakerOpenError', code: 'BREAKER_OPEN' },
      message: expect.stringMatching(
        new RegExp(
          `^Dead letter "${id}" \\(policy "payments"\\) was not run: Circuit breaker "payments" is ${state} and does not permit further calls\\. It is kept as it was; replay it again in \\d+ s$`,
        ),
      ),
    });
    expect(Payments.captured).toEqual(['order-1']);
    expect((await http.get('/resilience/dead-letters').set(auth).expect(200)).body).toEqual([
      expect.objectContaining({ id, args: ['order-1'], attempts: 1 }),
    ]);
  });

  it('should answer that the call succeeded when the store cannot remove its letter, and never run it again', async () => {
    const id = await deadLetter('order-1');
    await app.get(BreakerRegistry).get('payments').reset({ force: true });
    Payments.down = false;
    other.exec(BREAK_REMOVAL);

    const first = await http.post(`/resilience/dead-letters/${id}/replay`).set(auth).expect(503);

    expect(first.body).toEqual({
      statusCode: 503,
      error: 'Service Unavailable',
      code: 'REPLAYED_NOT_REMOVED',
      id,
      policy: 'payments',
      outcome: 'succeeded',
      message: expect.stringMatching(
        new RegExp(
          `^Dead letter "${id}" \\(policy "payments"\\) was replayed and its call succeeded, but the store could not remove it \\(disk I/O error\\): it is still listed\\.`,
        ),
      ),
    });
    expect(Payments.captured).toEqual(['order-1', 'order-1']);

    // Asked again while the store still fails: the same answer, the call not run.
    await http.post(`/resilience/dead-letters/${id}/replay`).set(auth).expect(503);
    expect(Payments.captured).toEqual(['order-1', 'order-1']);

    // Once the store works, asking again removes it, still without running the call.
    other.exec('DROP TRIGGER refuse_removal');
    const last = await http.post(`/resilience/dead-letters/${id}/replay`).set(auth).expect(200);
    expect(last.body).toEqual({ id, policy: 'payments', outcome: 'succeeded' });
    expect(Payments.captured).toEqual(['order-1', 'order-1']);
    await http.get(`/resilience/dead-letters/${id}`).set(auth).expect(404);
    // Its claim was freed with it: nothing is left in the file.
    expect(other.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM dead_letter_claims').get()).toEqual({
      n: 0,
    });
  });
});
