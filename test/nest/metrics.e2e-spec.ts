import {
  Controller,
  Get,
  Injectable,
  Module,
  Query,
  ServiceUnavailableException,
  type INestApplication,
} from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { Registry, register } from 'prom-client';
import request from 'supertest';
import { BreakerRegistry } from '../../src/core/registry';
import { BreakerOpenFilter } from '../../src/nest/error-mapping/breaker-open.filter';
import { CircuitBreaker } from '../../src/nest/circuit-breaker.decorator';
import type { ResilienceModuleOptions } from '../../src/nest/resilience-options.interface';
import { ResilienceModule } from '../../src/nest/resilience.module';
import { oneHot } from '../support/one-hot-state';
import { Scrape } from './metrics-scrape';

const INFO = 'circuit_breaker_info';
const STATE = 'circuit_breaker_state';
const CALLS = 'circuit_breaker_calls_total';
const REJECTED = 'circuit_breaker_rejected_total';
const DURATION = 'circuit_breaker_call_duration_seconds';
const TRANSITIONS = 'circuit_breaker_transitions_total';
const FAILURE_RATE = 'circuit_breaker_failure_rate';

@Injectable()
class PaymentsClient {
  @CircuitBreaker('payments')
  async charge(fail: boolean): Promise<string> {
    if (fail) throw new ServiceUnavailableException('payment API down');
    return 'charged';
  }
}

@Controller()
class PaymentsController {
  constructor(private readonly payments: PaymentsClient) {}

  @Get('charge')
  charge(@Query('fail') fail?: string): Promise<string> {
    return this.payments.charge(fail === 'yes');
  }
}

const BREAKERS: ResilienceModuleOptions['breakers'] = {
  payments: { failureThreshold: 3, openDuration: 30_000, resetCooldown: 1, critical: true },
  llm: { preset: 'llm' },
};

const apps: INestApplication[] = [];

/** Boots an app serving /metrics; `withPayments: false` leaves out the decorated client (and its breaker). */
async function boot(
  options: ResilienceModuleOptions = { breakers: BREAKERS },
  withPayments = true,
): Promise<INestApplication> {
  @Module({
    imports: [
      PrometheusModule.register({ defaultMetrics: { enabled: false } }),
      ResilienceModule.forRoot(options),
    ],
    controllers: withPayments ? [PaymentsController] : [],
    // The filter answers 503 to a rejection that reaches a plain controller from a decorated provider.
    providers: withPayments ? [PaymentsClient, { provide: APP_FILTER, useClass: BreakerOpenFilter }] : [],
  })
  class AppModule {}

  const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
  const app = moduleRef.createNestApplication({ logger: ['error', 'warn'] });
  await app.init();
  apps.push(app);
  return app;
}

async function close(app: INestApplication): Promise<void> {
  apps.splice(apps.indexOf(app), 1);
  await app.close();
}

async function scrape(app: INestApplication): Promise<Scrape> {
  const res = await request(app.getHttpServer()).get('/metrics').expect(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain/);
  return new Scrape(res.text);
}

const charge = (app: INestApplication, fail = false) =>
  request(app.getHttpServer())
    .get('/charge')
    .query(fail ? { fail: 'yes' } : {});

/** The transition series of the moves made (those a breaker makes by itself start at 0). */
const moved = (s: Scrape) => s.series(TRANSITIONS).filter((line) => !line.endsWith(' 0'));

afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
  register.clear();
  jest.restoreAllMocks();
});

describe('Prometheus metrics served by PrometheusModule at /metrics', () => {
  it('lists every configured breaker at boot, before any traffic', async () => {
    const app = await boot();

    const s = await scrape(app);

    expect(s.series(STATE)).toEqual([...oneHot('llm', 'closed'), ...oneHot('payments', 'closed')].sort());
    expect(s.series(CALLS, { breaker: 'payments' })).toEqual([
      'breaker=payments,outcome=failure 0',
      'breaker=payments,outcome=ignored 0',
      'breaker=payments,outcome=success 0',
      'breaker=payments,outcome=timeout 0',
    ]);
    expect(s.series(REJECTED, { breaker: 'llm' })).toEqual([
      'breaker=llm,reason=forced_open 0',
      'breaker=llm,reason=half_open_full 0',
      'breaker=llm,reason=open 0',
    ]);
    expect(s.series(FAILURE_RATE)).toEqual(['breaker=llm 0', 'breaker=payments 0']);
    expect(s.series(INFO)).toEqual([
      'breaker=llm,critical=false,preset=llm 1',
      'breaker=payments,critical=true,preset= 1',
    ]);
    expect(s.names()).toEqual([CALLS, FAILURE_RATE, INFO, REJECTED, STATE, TRANSITIONS]);
    expect(moved(s)).toEqual([]);
  });

  it('counts 2 successes and 1 failure of a decorated method, with their durations', async () => {
    const app = await boot();

    await charge(app).expect(200, 'charged');
    await charge(app).expect(200, 'charged');
    await charge(app, true).expect(503);

    const s = await scrape(app);
    expect(s.series(CALLS, { breaker: 'payments' })).toEqual([
      'breaker=payments,outcome=failure 1',
      'breaker=payments,outcome=ignored 0',
      'breaker=payments,outcome=success 2',
      'breaker=payments,outcome=timeout 0',
    ]);
    expect(s.value(`${DURATION}_count`, { breaker: 'payments', outcome: 'success' })).toBe(2);
    expect(s.value(`${DURATION}_count`, { breaker: 'payments', outcome: 'failure' })).toBe(1);
    expect(s.value(`${DURATION}_bucket`, { breaker: 'payments', outcome: 'success', le: '+Inf' })).toBe(2);
    expect(s.value(`${DURATION}_sum`, { breaker: 'payments', outcome: 'success' })).toBeGreaterThanOrEqual(0);
    expect(s.value(FAILURE_RATE, { breaker: 'payments' })).toBeCloseTo(1 / 3);
    expect(s.series(STATE, { breaker: 'payments' })).toEqual(oneHot('payments', 'closed'));
    expect(moved(s)).toEqual([]);
  });

  it('follows the breaker open, shows it half_open once its open period has passed, and counts rejections', async () => {
    // The breakers read the wall clock: moving Date.now moves them.
    let now = Date.now();
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    const app = await boot();
    for (let i = 0; i < 3; i++) await charge(app, true).expect(503, /payment API down/);
    await charge(app).expect(503, /is open/);

    let s = await scrape(app);
    expect(s.series(STATE, { breaker: 'payments' })).toEqual(oneHot('payments', 'open'));
    expect(s.value(REJECTED, { breaker: 'payments', reason: 'open' })).toBe(1);
    expect(moved(s)).toEqual(['breaker=payments,from=closed,to=open 1']);

    now += 30_000;

    s = await scrape(app);
    expect(s.series(STATE, { breaker: 'payments' })).toEqual(oneHot('payments', 'half_open'));
    expect(moved(s)).toEqual([
      'breaker=payments,from=closed,to=open 1',
      'breaker=payments,from=open,to=half_open 1',
    ]);

    await charge(app).expect(200);
    await app.get(BreakerRegistry).get('llm').trip('maintenance');
    s = await scrape(app);
    expect(s.series(STATE, { breaker: 'payments' })).toEqual(oneHot('payments', 'closed'));
    expect(s.series(STATE, { breaker: 'llm' })).toEqual(oneHot('llm', 'forced_open'));
    expect(s.value(TRANSITIONS, { breaker: 'payments', from: 'half_open', to: 'closed' })).toBe(1);
    expect(s.value(TRANSITIONS, { breaker: 'llm', from: 'closed', to: 'forced_open' })).toBe(1);
  });

  it('adds a per-key breaker when it is created and removes all its series when it is removed', async () => {
    const app = await boot({ breakers: { tenant: { failureThreshold: 1 } }, metrics: { perKey: true } });
    const registry = app.get(BreakerRegistry);
    const acme = registry.get('tenant', 'acme');
    await expect(acme.execute(() => Promise.reject(new Error('down')))).rejects.toThrow();
    await expect(acme.execute(() => 'ok')).rejects.toMatchObject({ code: 'BREAKER_OPEN' });
    const before = await scrape(app);
    expect(before.value(STATE, { breaker: 'tenant#acme', state: 'open' })).toBe(1);
    expect(before.value(INFO, { breaker: 'tenant#acme', critical: 'false', preset: '' })).toBe(1);

    registry.remove('tenant', 'acme');

    const s = await scrape(app);
    expect(s.names('tenant#acme')).toEqual([]);
    expect(s.series(STATE, { breaker: 'tenant' })).toEqual(oneHot('tenant', 'closed'));
    expect(s.series(INFO, { breaker: 'tenant' })).toEqual(['breaker=tenant,critical=false,preset= 1']);
  });

  it('publishes to metrics.registry with metrics.prefix, leaving the global registry alone', async () => {
    const custom = new Registry();
    const app = await boot({ breakers: BREAKERS, metrics: { registry: custom, prefix: 'shop_' } });
    await charge(app).expect(200);

    expect((await scrape(app)).samples).toEqual([]);
    const s = new Scrape(await custom.metrics());
    expect(s.value(`shop_${CALLS}`, { breaker: 'payments', outcome: 'success' })).toBe(1);
    expect(s.value(`shop_${STATE}`, { breaker: 'llm', state: 'closed' })).toBe(1);
    expect(s.names().every((name) => name.startsWith('shop_circuit_breaker_'))).toBe(true);

    await close(app);
    expect(custom.getMetricsAsArray()).toEqual([]);
  });

  it('publishes nothing with metrics: false', async () => {
    const app = await boot({ breakers: BREAKERS, metrics: false });
    await charge(app).expect(200);

    expect((await scrape(app)).samples).toEqual([]);
  });

  it('boots a second app after the first closed without a clash, reporting only its own breakers', async () => {
    const first = await boot({ breakers: { payments: {} } });
    await charge(first).expect(200);
    const old = first.get(BreakerRegistry).get('payments');
    await close(first);

    const second = await boot({ breakers: { llm: {} } }, false);
    await second
      .get(BreakerRegistry)
      .get('llm')
      .execute(() => 'ok');
    await old.execute(() => 'ok');

    const s = await scrape(second);
    expect(s.series(STATE)).toEqual(oneHot('llm', 'closed'));
    expect(s.series(CALLS, { outcome: 'success' })).toEqual(['breaker=llm,outcome=success 1']);
    expect(s.names('payments')).toEqual([]);
  });

  it('runs two apps at once on the global registry; closing one leaves the series of the other', async () => {
    const first = await boot({ breakers: { payments: {} } }, false);
    const second = await boot({ breakers: { llm: {} } }, false);

    expect((await scrape(second)).series(STATE, { state: 'closed' })).toEqual([
      'breaker=llm,state=closed 1',
      'breaker=payments,state=closed 1',
    ]);
    await close(first);

    expect((await scrape(second)).series(STATE, { state: 'closed' })).toEqual(['breaker=llm,state=closed 1']);
  });
});
