import { Logger, Module, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { ResilienceModule } from '../../src/nest/resilience.module';
import { PayController, PaymentsClient } from '../support/failing-payments';
import { HealthModule } from './health-app.fixture';

/**
 * A feature module that keeps ResilienceModule to itself (`isGlobal: false`, not re-exported):
 * the app's health module, a sibling, cannot inject its registry, and may not import
 * ResilienceModule again (a second import fails the boot).
 */
@Module({
  imports: [
    ResilienceModule.forRoot({
      isGlobal: false,
      metrics: false,
      breakers: { payments: { critical: true, failureThreshold: 1, openDuration: 30_000 } },
      policies: { bulk: { bulkhead: { maxConcurrent: 2, maxQueue: 0 } } },
    }),
  ],
  providers: [PaymentsClient],
  controllers: [PayController],
})
class PaymentsModule {}

let app: INestApplication;
let warnings: string[];

beforeEach(async () => {
  warnings = [];
  jest.spyOn(Logger.prototype, 'warn').mockImplementation((message: unknown) => {
    warnings.push(String(message));
  });
  const moduleRef = await Test.createTestingModule({ imports: [PaymentsModule, HealthModule] }).compile();
  app = moduleRef.createNestApplication({ logger: false });
  await app.init();
});

afterEach(async () => {
  await app?.close();
  jest.restoreAllMocks();
});

describe('BreakerHealthIndicator in a health module that cannot see the app’s ResilienceModule', () => {
  it('reports the app’s breakers, its store and its policies, without a warning', async () => {
    const res = await request(app.getHttpServer()).get('/health/ready').expect(200);

    expect(res.body.status).toBe('ok');
    expect(res.body.details.circuit_breakers).toMatchObject({
      total: 1,
      closed: 1,
      breakers: { payments: { state: 'closed', critical: true } },
      store: { type: 'memory', status: 'up' },
      policies: { bulk: { bulkhead: { active: 0, queued: 0, maxConcurrent: 2, maxQueue: 0, full: false } } },
      status: 'up',
    });
    expect(warnings.filter((w) => w.includes('BreakerHealthIndicator'))).toEqual([]);
  });

  it('answers 503 while the critical breaker of that module is open', async () => {
    const http = request(app.getHttpServer());
    await http.get('/pay').expect(500);
    await http.get('/pay').expect(503);

    const res = await http.get('/health/ready').expect(503);

    expect(res.body.status).toBe('error');
    expect(res.body.error.circuit_breakers).toMatchObject({
      total: 1,
      open: 1,
      breakers: { payments: { state: 'open', critical: true } },
      status: 'down',
    });
  });
});
