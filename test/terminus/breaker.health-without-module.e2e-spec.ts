import { Logger, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { HealthModule, NO_BREAKERS } from './health-app.fixture';

/** An app's existing test that builds its health module alone, without ResilienceModule. */
describe('BreakerHealthIndicator in a module built without ResilienceModule', () => {
  let app: INestApplication;

  afterEach(async () => {
    await app?.close();
    jest.restoreAllMocks();
  });

  it('compiles, reports no breakers with 200 "ok", and warns once that the module is missing', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const moduleRef = await Test.createTestingModule({ imports: [HealthModule] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();

    const first = await request(app.getHttpServer()).get('/health/ready').expect(200);
    await request(app.getHttpServer()).get('/health/ready').expect(200);

    expect(first.body.status).toBe('ok');
    expect(first.body.info.circuit_breakers).toEqual({ ...NO_BREAKERS, status: 'up' });
    const warnings = warn.mock.calls.filter(([message]) =>
      String(message).includes('BreakerHealthIndicator'),
    );
    expect(warnings).toEqual([[expect.stringContaining('import ResilienceModule.forRoot()')]]);
  });
});
