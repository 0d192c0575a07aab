import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { ResilienceModule } from '../../src/nest/resilience.module';
import { refusingOrigin } from '../support/upstream-server';
import { ADMIN_TOKEN, closeApp } from './admin-app.fixture';

/**
 * The admin routes that read what the store keeps, while the store does not answer: a Redis
 * store whose server refuses connections.
 */
describe('Admin API: a store that does not answer', () => {
  let app: INestApplication | undefined;

  beforeEach(async () => {
    const url = (await refusingOrigin()).replace('http:', 'redis:');
    const moduleRef = await Test.createTestingModule({
      imports: [
        ResilienceModule.forRoot({
          breakers: { payments: {} },
          policies: { exports: { retry: { attempts: 1 }, deadLetter: true } },
          metrics: false,
          admin: { token: ADMIN_TOKEN },
          store: { type: 'redis', url },
        }),
      ],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
  });
  afterEach(() => closeApp(app));

  it.each([
    ['GET', '/resilience/breakers?scope=fleet', 'The fleet view'],
    ['GET', '/resilience/audit', 'The audit log'],
    ['GET', '/resilience/dead-letters', 'The dead letters'],
    ['GET', '/resilience/dead-letters/1733600000000-0', 'The dead letters'],
    ['POST', '/resilience/dead-letters/1733600000000-0/replay', 'The dead letters'],
    ['DELETE', '/resilience/dead-letters', 'The dead letters'],
  ])('%s %s answers 503 naming what cannot be reached and why', async (method, path, what) => {
    const http = request(app?.getHttpServer());
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const sent =
      method === 'GET'
        ? http.get(path).set(auth)
        : (method === 'POST' ? http.post(path) : http.delete(path))
            .set(auth)
            .set('content-type', 'application/json')
            .send('{}');

    const { status, body } = await sent;

    expect(status).toBe(503);
    expect(body).toMatchObject({
      statusCode: 503,
      message: expect.stringMatching(new RegExp(`^${what} cannot be reached in the store: .+`)),
    });
  });
});
