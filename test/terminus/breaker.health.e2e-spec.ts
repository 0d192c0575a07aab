import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { register } from 'prom-client';
import request from 'supertest';
import { BreakerRegistry } from '../../src/core/registry';
import { ResilienceModule } from '../../src/nest/resilience.module';
import { DEGRADED_CHECK_STATUS, DEGRADED_STATUS } from '../support/peers';
import { HealthModule } from './health-app.fixture';

const NOW = 1_700_000_000_000;
let now = NOW;
let app: INestApplication;

beforeEach(async () => {
  // The breakers read the wall clock; pinning Date.now makes nextAttemptAt exact.
  now = NOW;
  jest.spyOn(Date, 'now').mockImplementation(() => now);
  const moduleRef = await Test.createTestingModule({
    imports: [
      ResilienceModule.forRoot({
        metrics: false,
        breakers: {
          payments: { critical: true, failureThreshold: 1, openDuration: 30_000 },
          llm: { failureThreshold: 1, openDuration: 60_000 },
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
  jest.restoreAllMocks();
});

const fail = (name: string) =>
  expect(
    app
      .get(BreakerRegistry)
      .get(name)
      .execute(() => Promise.reject(new Error('down'))),
  ).rejects.toThrow('down');

const closed = { state: 'closed', failureRate: 0, nextAttemptAt: null, critical: false };

describe('BreakerHealthIndicator in a readiness check', () => {
  it('answers 200 "ok" with the breakers up while every breaker is closed', async () => {
    const res = await request(app.getHttpServer()).get('/health/ready').expect(200);

    const circuitBreakers = {
      total: 2,
      closed: 2,
      open: 0,
      half_open: 0,
      forced_open: 0,
      disabled: 0,
      breakers: { payments: { ...closed, critical: true }, llm: closed },
      keys: {},
      store: { type: 'memory', status: 'up' },
      status: 'up',
    };
    expect(res.body).toEqual({
      status: 'ok',
      info: { circuit_breakers: circuitBreakers },
      error: {},
      details: { circuit_breakers: circuitBreakers },
    });
    expect(res.headers['cache-control']).toMatch(/no-store/);
  });

  // Terminus 11 has no degraded status: there the check answers 200 "ok" with the same details.
  it('answers 200 "degraded" when a breaker that is not critical is open', async () => {
    await fail('llm');

    const res = await request(app.getHttpServer()).get('/health/ready').expect(200);

    expect(res.body.status).toBe(DEGRADED_CHECK_STATUS);
    expect(res.body.error).toEqual({});
    expect(res.body.info.circuit_breakers).toEqual({
      total: 2,
      closed: 1,
      open: 1,
      half_open: 0,
      forced_open: 0,
      disabled: 0,
      breakers: {
        payments: { ...closed, critical: true },
        llm: { state: 'open', failureRate: 1, nextAttemptAt: NOW + 60_000, critical: false },
      },
      keys: {},
      store: { type: 'memory', status: 'up' },
      status: DEGRADED_STATUS,
    });
  });

  it('answers 503 "error" when a critical breaker is open, and 200 "degraded" once it is due to try again', async () => {
    await fail('payments');

    const down = await request(app.getHttpServer()).get('/health/ready').expect(503);

    expect(down.body).toMatchObject({ status: 'error', info: {} });
    expect(down.body.error.circuit_breakers).toEqual({
      total: 2,
      closed: 1,
      open: 1,
      half_open: 0,
      forced_open: 0,
      disabled: 0,
      breakers: {
        payments: { state: 'open', failureRate: 1, nextAttemptAt: NOW + 30_000, critical: true },
        llm: closed,
      },
      keys: {},
      store: { type: 'memory', status: 'up' },
      status: 'down',
    });
    expect(down.body.details).toEqual(down.body.error);

    now = NOW + 30_000;

    const trying = await request(app.getHttpServer()).get('/health/ready').expect(200);
    expect(trying.body.status).toBe(DEGRADED_CHECK_STATUS);
    expect(trying.body.info.circuit_breakers).toMatchObject({
      open: 0,
      half_open: 1,
      breakers: { payments: { state: 'half_open', nextAttemptAt: null } },
      keys: {},
      store: { type: 'memory', status: 'up' },
      status: DEGRADED_STATUS,
    });
  });

  it('answers 503 when a critical breaker is forced open, while liveness stays 200', async () => {
    await app.get(BreakerRegistry).get('payments').trip('maintenance', 'ops');

    const res = await request(app.getHttpServer()).get('/health/ready').expect(503);

    expect(res.body.error.circuit_breakers).toMatchObject({
      forced_open: 1,
      breakers: { payments: { state: 'forced_open', nextAttemptAt: null, critical: true } },
      keys: {},
      store: { type: 'memory', status: 'up' },
      status: 'down',
    });
    await request(app.getHttpServer()).get('/health/live').expect(200);
  });
});
