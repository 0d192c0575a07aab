import { Controller, Get, Logger, Module, type INestApplication } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { BreakerHealthIndicator } from 'nest-resilience/terminus';

@Controller('health')
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly breakers: BreakerHealthIndicator,
  ) {}

  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([() => this.breakers.isHealthy()]);
  }
}

@Module({
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController],
  providers: [BreakerHealthIndicator],
})
class HealthModule {}

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
    expect(first.body.info.circuit_breakers).toEqual({
      total: 0,
      closed: 0,
      open: 0,
      half_open: 0,
      forced_open: 0,
      disabled: 0,
      breakers: {},
      status: 'up',
    });
    const warnings = warn.mock.calls.filter(([message]) =>
      String(message).includes('BreakerHealthIndicator'),
    );
    expect(warnings).toEqual([[expect.stringContaining('import ResilienceModule.forRoot()')]]);
  });
});
