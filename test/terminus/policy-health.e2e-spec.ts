import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { register } from 'prom-client';
import request from 'supertest';
import { PolicyRegistry } from '../../src/nest/policy-registry';
import { ResilienceModule } from '../../src/nest/resilience.module';
import { DEGRADED_CHECK_STATUS, DEGRADED_STATUS } from '../support/peers';
import { HealthModule } from './health-app.fixture';

let app: INestApplication;

beforeEach(async () => {
  const moduleRef = await Test.createTestingModule({
    imports: [
      ResilienceModule.forRoot({
        metrics: false,
        policies: {
          reports: { bulkhead: { maxConcurrent: 1 } },
          search: { rateLimit: { limit: 1, interval: 60_000 } },
          plain: { retry: { attempts: 1 } },
        },
      }),
      HealthModule,
    ],
  }).compile();
  app = moduleRef.createNestApplication({ logger: ['error', 'warn'] });
  await app.init();
});

afterEach(async () => {
  await app.close();
  register.clear();
});

const policy = (name: string) => app.get(PolicyRegistry).get(name)!;
const ready = () => request(app.getHttpServer()).get('/health/ready');
const idle = {
  reports: { bulkhead: { active: 0, queued: 0, maxConcurrent: 1, maxQueue: 0, full: false } },
  search: { rateLimit: { refusedShare: 0, refusingMost: false } },
};

describe('policies in the readiness check', () => {
  it('should report each policy with a bulkhead or a rate limit, up while none is under pressure', async () => {
    const res = await ready().expect(200);
    expect(res.body.status).toBe('ok');
    expect(res.body.info.circuit_breakers).toMatchObject({ status: 'up', policies: idle });
  });

  it('should answer 200 "degraded", never 503, while a bulkhead is full', async () => {
    let release!: () => void;
    const running = policy('reports').execute(() => new Promise<void>((resolve) => (release = resolve)));

    const res = await ready().expect(200);

    expect(res.body.status).toBe(DEGRADED_CHECK_STATUS);
    expect(res.body.info.circuit_breakers.status).toBe(DEGRADED_STATUS);
    expect(res.body.info.circuit_breakers.policies.reports).toEqual({
      bulkhead: { active: 1, queued: 0, maxConcurrent: 1, maxQueue: 0, full: true },
    });
    release();
    await running;
    expect((await ready().expect(200)).body.status).toBe('ok');
  });

  it('should answer 200 "degraded" while a rate limit refuses most calls', async () => {
    const outcomes = await Promise.all(
      [1, 2, 3, 4].map(() =>
        policy('search')
          .execute(async () => 'ok')
          .catch(() => 'refused'),
      ),
    );
    expect(outcomes).toEqual(['ok', 'refused', 'refused', 'refused']);

    const res = await ready().expect(200);

    expect(res.body.status).toBe(DEGRADED_CHECK_STATUS);
    expect(res.body.info.circuit_breakers.policies.search).toEqual({
      rateLimit: { refusedShare: 0.75, refusingMost: true },
    });
  });
});
